#!/usr/bin/env bash
# Load benchmark (not run by CI): `POST /v1/decide` on `ward serve` against a bare axum
# handler that returns a constant, side by side in one run, with wrk on loopback; then
# `POST /v1/decide/batch` with 1,000 requests per call. Prints requests/s, p50/p99, each
# server's CPU per call (with perf installed) and the ratios. Needs wrk (`apt-get install wrk`)
# and python3.
#
#   bench/load.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"
CONNECTIONS="${2:-32}"
CHILDREN=1000
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

# WARD_BIN and BARE_BIN run other builds (a "before" binary, say) instead of this tree's.
[ -n "${WARD_BIN:-}" ] || cargo build --release --locked -p ward --bin ward >&2
[ -n "${BARE_BIN:-}" ] || cargo build --release --locked -p ward-bench --no-default-features --bin bare_decide >&2
WARD=${WARD_BIN:-target/release/ward}
BARE=${BARE_BIN:-target/release/bare_decide}

WORK=$(mktemp -d)
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
PIDS=()
trap cleanup EXIT

DB="$WORK/ward.db"
ADMIN=$("$WARD" keys create --scope admin --label load --database "$DB" 2>/dev/null)
DECIDE=$("$WARD" keys create --scope decide --label load --database "$DB" 2>/dev/null)

start() { # start NAME CMD...: runs CMD in the background, waits for its "listening on"
  # line and sets URL. Not called in $(…): the server would hold the substitution's pipe
  # open (and its pid would be lost to the subshell).
  local name=$1; shift
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.log" &
  PIDS+=($!)
  URL=
  for _ in $(seq 1 200); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/$name.log" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && return
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}

WARD_LOG=warn start ward "$WARD" serve --policy examples/clipstream.toml --database "$DB" \
  --listen 127.0.0.1:0 --no-bootstrap-key
WARD_URL=$URL
start bare "$BARE" 127.0.0.1:0
BARE_URL=$URL

# Seed children in every state the decision table cares about: ages 6 to 17 and unknown.
python3 - "$WARD_URL" "$ADMIN" "$CHILDREN" <<'PY'
import json, sys, urllib.request
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        return json.load(urllib.request.urlopen(req))
    except urllib.error.HTTPError as e:
        return json.load(e)
for i in range(n):
    body = {} if i % 8 == 0 else {"age": {"method": "parent_declared", "age": 6 + i % 12}}
    call("PUT", f"/v1/children/kid-{i}", body)
    if i % 3 == 0 and i % 8:
        iv = call("POST", f"/v1/children/kid-{i}/settings/recommend-videos", {"value": "on"})
        if "intervention" in iv:
            call("POST", f"/v1/interventions/{iv['intervention']['id']}/acknowledge", {})
PY

python3 - "$CHILDREN" > "$WORK/batch.json" <<'PY'
import json, sys
n = int(sys.argv[1])
purposes = ["recommend-videos", "remember-subtitles", "estimate-age"]
print(json.dumps({"requests": [{"child": f"kid-{i % n}", "purpose": purposes[i % 3]} for i in range(1000)]}))
PY

# One call of each kind to each server first: anything but a 200 stops the run.
echo '{"child":"kid-1","purpose":"recommend-videos","data":[],"context":{"gpc":false}}' > "$WORK/one.json"
python3 - "$DECIDE" "$WORK/one.json" "$WORK/batch.json" "$BARE_URL" "$WARD_URL" <<'PY'
import sys, urllib.request
token, one, batch, urls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
for base in urls:
    for path, file in [("/v1/decide", one), ("/v1/decide/batch", batch)]:
        req = urllib.request.Request(base + path, data=open(file, "rb").read(), method="POST",
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as answer:
                body = answer.read()
        except urllib.error.HTTPError as error:
            sys.exit(f"{base}{path} answered {error.code}: {error.read()[:300]!r}")
        print(f"{base}{path}: 200, {len(body)} bytes: {body[:90].decode()}…", file=sys.stderr)
PY

run() { # run URL SCRIPT PID: prints "rps p50 p99 cpu", cpu = the server's CPU µs per call
  # (`perf stat` on PID over the run; "-" without perf), the figure to read on a loaded machine.
  local perf_pid=
  if command -v perf >/dev/null; then
    perf stat -x, -e task-clock -o "$WORK/perf.out" -p "$3" -- sleep "$SECONDS_EACH" 2>/dev/null &
    perf_pid=$!
  fi
  WARD_TOKEN=$DECIDE WARD_CHILDREN=$CHILDREN WARD_BATCH_FILE="$WORK/batch.json" \
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$2" "$1" > "$WORK/wrk.out"
  local rps p50 p99 cpu=-
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
  if [ -n "$perf_pid" ] && wait "$perf_pid"; then
    cpu=$(awk -F, -v calls="$(awk '/requests in/ {print $1}' "$WORK/wrk.out")" \
      '/task-clock/ && calls > 0 {printf "%.1fus", $1 * 1000 / calls}' "$WORK/perf.out")
    [ -n "$cpu" ] || cpu=-
  fi
  # Any answer other than 2xx, or any socket error, makes the figure meaningless: reported,
  # and the run fails at the end.
  if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.out"; then
    grep -E "Non-2xx|Socket errors" "$WORK/wrk.out" | sed "s|^|$1 $2: |" | tee -a "$WORK/errors" >&2
  fi
  echo "$rps $p50 $p99 $cpu"
}

# Warm both up (ward's cache fills on first sight of each child).
WARD_PID=${PIDS[0]}
BARE_PID=${PIDS[1]}
run "$WARD_URL" bench/decide.lua "$WARD_PID" >/dev/null
run "$BARE_URL" bench/decide.lua "$BARE_PID" >/dev/null

read -r BARE_RPS BARE_P50 BARE_P99 BARE_CPU < <(run "$BARE_URL" bench/decide.lua "$BARE_PID")
read -r WARD_RPS WARD_P50 WARD_P99 WARD_CPU < <(run "$WARD_URL" bench/decide.lua "$WARD_PID")
read -r BARE_B_RPS BARE_B_P50 BARE_B_P99 BARE_B_CPU < <(run "$BARE_URL" bench/batch.lua "$BARE_PID")
read -r WARD_B_RPS WARD_B_P50 WARD_B_P99 WARD_B_CPU < <(run "$WARD_URL" bench/batch.lua "$WARD_PID")

echo
echo "load: ${SECONDS_EACH}s each, wrk -t2 -c$CONNECTIONS on loopback, $(nproc) cores shared by server and wrk"
printf '%-28s %12s %10s %10s %12s\n' "" "requests/s" "p50" "p99" "CPU/call"
printf '%-28s %12s %10s %10s %12s\n' "bare handler /v1/decide" "$BARE_RPS" "$BARE_P50" "$BARE_P99" "$BARE_CPU"
printf '%-28s %12s %10s %10s %12s\n' "ward /v1/decide" "$WARD_RPS" "$WARD_P50" "$WARD_P99" "$WARD_CPU"
printf '%-28s %12s %10s %10s %12s\n' "bare handler batch (1,000)" "$BARE_B_RPS" "$BARE_B_P50" "$BARE_B_P99" "$BARE_B_CPU"
printf '%-28s %12s %10s %10s %12s\n' "ward batch (1,000)" "$WARD_B_RPS" "$WARD_B_P50" "$WARD_B_P99" "$WARD_B_CPU"
python3 - "$WARD_RPS" "$BARE_RPS" "$WARD_B_RPS" "$BARE_B_RPS" <<'PY'
import sys
w, b, wb, bb = map(float, sys.argv[1:])
print(f"ward / bare, decide: {w / b:.2f}")
print(f"ward batch: {wb * 1000:,.0f} decisions/s ({wb / bb:.2f} of the bare handler's batch rate)")
PY
if [ -s "$WORK/errors" ]; then
  echo "NOT VALID: some answers were not 2xx, or sockets failed:" >&2
  cat "$WORK/errors" >&2
  exit 1
fi
