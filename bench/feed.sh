#!/usr/bin/env bash
# Feed guard over HTTP (not run by CI): `POST /v1/feed/filter` with 500 and 10,000 items
# (`ward_bench::feed::feed_jsonl`, the in-process bench's feed), compact and full answers,
# one connection (`wrk -t1 -c1`, so p50 is the latency of one call), on `ward serve` over
# SQLite. With WARD_BEFORE=/path/to/an/older/ward, that binary is run too, by turns with this
# one, in the same run, each answer (`b-full`, `b-compact`; WARD_BEFORE_ANSWERS=full for a ward
# older than the compact answer, which gets the full one twice). Prints p50, p99 and calls/s
# per case. Needs wrk (`apt-get install wrk`) and python3.
#
#   [WARD_BEFORE=...] bench/feed.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-5}"
ROUNDS="${2:-1}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

cargo build --release --locked -p ward --bin ward >&2
cargo build --release --locked -p ward-bench --no-default-features --example generate_feed >&2
AFTER=target/release/ward
GENERATE=target/release/examples/generate_feed

WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The in-process bench's policy: the feed's descriptive tags and ad categories are harmless.
sed 's/^\[feed\]$/[feed]\nharmless_tags = ["funny", "tutorial", "horror", "live", "asmr"]\nharmless_ad_categories = ["toys", "games", "clothing", "films"]/' \
  examples/clipstream.toml > "$WORK/ward.toml"

for n in 500 10000; do
  for answer in compact full none; do
    "$GENERATE" "$n" kid-1 "$answer" "$WORK/feed-$n-$answer.json" 2>/dev/null
  done
done

start() { # start NAME BINARY: a fresh database, keys, one child of 11 with a parent's blocks
  local name=$1 binary=$2 db="$WORK/$1.db"
  ADMIN=$("$binary" keys create --scope admin --label bench --database "$db" 2>/dev/null)
  TOKEN=$("$binary" keys create --scope decide --label bench --database "$db" 2>/dev/null)
  WARD_LOG=warn "$binary" serve --policy "$WORK/ward.toml" --database "$db" \
    --listen 127.0.0.1:0 --no-bootstrap-key > "$WORK/$name.out" 2> "$WORK/$name.log" &
  PIDS+=($!)
  URL=
  for _ in $(seq 1 200); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/$name.log" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && break
    sleep 0.05
  done
  [ -n "$URL" ] || { echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  python3 - "$URL" "$ADMIN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def call(method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
call("PUT", "/v1/children/kid-1", {"age": {"method": "parent_declared", "age": 11}})
call("PUT", "/v1/children/kid-1/controls", {"blocked_tags": ["horror", "asmr"],
     "blocked_topics": ["slime"], "blocked_sources": ["prank-channel"]})
call("PUT", "/v1/children/kid-1/interests", {"interests": ["football", "minecraft", "animals", "lego"]})
PY
}

run() { # run URL FILE: prints "calls/s p50 p99"
  WARD_TOKEN=$TOKEN WARD_FEED_FILE=$2 \
    wrk -t1 -c1 -d"${SECONDS_EACH}s" --latency -s bench/feed.lua "$1" > "$WORK/wrk.out"
  if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.out"; then
    grep -E "Non-2xx|Socket errors" "$WORK/wrk.out" | sed "s|^|$1 $2: |" | tee -a "$WORK/errors" >&2
  fi
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out") $(awk '$1=="50%" {print $2}' "$WORK/wrk.out") $(awk '$1=="99%" {print $2}' "$WORK/wrk.out")"
}

CASES=()
start after "$AFTER"; AFTER_URL=$URL; AFTER_TOKEN=$TOKEN
if [ -n "${WARD_BEFORE:-}" ]; then start before "$WARD_BEFORE"; BEFORE_URL=$URL; BEFORE_TOKEN=$TOKEN; fi

# Each answer checked once (a 200 with the shape asked for), then a warm-up call of each.
for n in 500 10000; do
  for answer in compact full; do
    TOKEN=$AFTER_TOKEN
    curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      --data-binary "@$WORK/feed-$n-$answer.json" "$AFTER_URL/v1/feed/filter" > "$WORK/answer.json"
    python3 -c "import json,sys; a=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], len(a['kept']), 'kept,', len(a['removed']), 'removed,', len(open(sys.argv[1],'rb').read()), 'bytes', file=sys.stderr)" "$WORK/answer.json" "$n" "$answer"
  done
done

printf '%-7s %-8s %-8s %12s %10s %10s\n' round items case "calls/s" p50 p99 > "$WORK/table"
for round in $(seq 1 "$ROUNDS"); do
  for n in 500 10000; do
    for answer in full compact; do
      if [ -n "${WARD_BEFORE:-}" ]; then
        file="$WORK/feed-$n-$answer.json"
        [ "${WARD_BEFORE_ANSWERS:-both}" = full ] && file="$WORK/feed-$n-none.json"
        TOKEN=$BEFORE_TOKEN; read -r rps p50 p99 < <(run "$BEFORE_URL" "$file")
        printf '%-7s %-8s %-8s %12s %10s %10s\n' "$round" "$n" "b-$answer" "$rps" "$p50" "$p99" >> "$WORK/table"
      fi
      TOKEN=$AFTER_TOKEN; read -r rps p50 p99 < <(run "$AFTER_URL" "$WORK/feed-$n-$answer.json")
      printf '%-7s %-8s %-8s %12s %10s %10s\n' "$round" "$n" "$answer" "$rps" "$p50" "$p99" >> "$WORK/table"
    done
  done
done
echo
echo "feed over HTTP: ${SECONDS_EACH}s each, wrk -t1 -c1 on loopback, $(nproc) cores (shared), load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/table"
if [ -s "$WORK/errors" ]; then
  echo "NOT VALID: some answers were not 2xx, or sockets failed:" >&2
  cat "$WORK/errors" >&2
  exit 1
fi
