#!/usr/bin/env bash
# Load benchmark (not run by CI): `GET /v1/children/{id}/signals` beside `POST /v1/decide` on
# one `ward serve` (examples/clipstream.toml, whose [tcf] names a vendor), side by side in
# one run, with wrk on loopback. Prints requests/s, p50/p99 and the ratio. Needs wrk and
# python3.
#
#   bench/signals.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"
CONNECTIONS="${2:-32}"
CHILDREN=1000
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

cargo build --release --locked -p ward --bin ward >&2
WARD=target/release/ward
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

DB="$WORK/ward.db"
ADMIN=$("$WARD" keys create --scope admin --label load --database "$DB" 2>/dev/null)
DECIDE=$("$WARD" keys create --scope decide --label load --database "$DB" 2>/dev/null)
WARD_LOG=warn "$WARD" serve --policy examples/clipstream.toml --database "$DB" \
  --listen 127.0.0.1:0 --no-bootstrap-key > "$WORK/ward.out" 2> "$WORK/ward.log" &
PIDS+=($!)
URL=
for _ in $(seq 1 200); do
  URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/ward.log" | head -1 | sed 's/listening on //') || true
  [ -n "$URL" ] && break
  sleep 0.05
done
[ -n "$URL" ] || { echo "ward did not start:" >&2; cat "$WORK/ward.log" >&2; exit 1; }

# The same children as bench/load.sh: ages 6 to 17 and unknown, a third with recommendations on.
python3 - "$URL" "$ADMIN" "$CHILDREN" "$DECIDE" <<'PY'
import json, sys, urllib.request
base, token, n, decide = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(method, path, body=None, key=token):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
        method=method, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
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
answer = call("GET", "/v1/children/kid-3/signals", key=decide)
if "tcf" not in answer or not answer["tcf"]:
    sys.exit(f"signals did not answer a TC string: {answer}")
print("kid-3:", answer["tcf"]["tc_string"], file=sys.stderr)
PY

run() { # run SCRIPT: prints "rps p50 p99"
  WARD_TOKEN=$DECIDE WARD_CHILDREN=$CHILDREN \
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$1" "$URL" > "$WORK/wrk.out"
  if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.out"; then
    grep -E "Non-2xx|Socket errors" "$WORK/wrk.out" | sed "s|^|$1: |" | tee -a "$WORK/errors" >&2
  fi
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out") $(awk '$1=="50%" {print $2}' "$WORK/wrk.out") $(awk '$1=="99%" {print $2}' "$WORK/wrk.out")"
}

run bench/decide.lua >/dev/null   # warm-up: every child cached
read -r D_RPS D_P50 D_P99 < <(run bench/decide.lua)
read -r S_RPS S_P50 S_P99 < <(run bench/signals.lua)
read -r D2_RPS D2_P50 D2_P99 < <(run bench/decide.lua)

echo
echo "load: ${SECONDS_EACH}s each, wrk -t2 -c$CONNECTIONS on loopback, $(nproc) cores shared by server and wrk"
printf '%-32s %12s %10s %10s\n' "" "requests/s" "p50" "p99"
printf '%-32s %12s %10s %10s\n' "ward POST /v1/decide" "$D_RPS" "$D_P50" "$D_P99"
printf '%-32s %12s %10s %10s\n' "ward GET /v1/children/…/signals" "$S_RPS" "$S_P50" "$S_P99"
printf '%-32s %12s %10s %10s\n' "ward POST /v1/decide (again)" "$D2_RPS" "$D2_P50" "$D2_P99"
python3 -c "import sys; d=(float(sys.argv[1])+float(sys.argv[3]))/2; print(f'signals / decide: {float(sys.argv[2])/d:.2f}')" "$D_RPS" "$S_RPS" "$D2_RPS"
if [ -s "$WORK/errors" ]; then
  echo "NOT VALID: some answers were not 2xx, or sockets failed:" >&2
  cat "$WORK/errors" >&2
  exit 1
fi
