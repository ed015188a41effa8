#!/usr/bin/env bash
# The bounded cache under load (not run by CI): N children stored (default 1,000,000), then
# `POST /v1/decide` with children drawn from a Zipf distribution (s = 1, bench/zipf.lua), on
# `ward serve` over SQLite, twice in one run: with --cache-memory at a tenth of what all the
# children weigh, and with room for all of them. Prints requests/s, p50, p99, the hit ratio
# during the timed run, evictions, the cache's size and the process's resident memory.
#
# Seeding: twelve children are made through the API (ages 6 to 17, a third asked to switch
# `recommend-videos` on, the intervention acknowledged), and their stored rows copied under new ids into the children table in one SQLite transaction (ids `kid-0` …): the
# store's own rows, not one HTTP call each, and no ledger entries for the copies.
#
#   [WARMUP=SECONDS] bench/zipf.sh [SECONDS] [CONNECTIONS] [CHILDREN]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-20}"
CONNECTIONS="${2:-32}"
CHILDREN="${3:-1000000}"
# The warm-up must ask for more distinct children than a tenth of them, or nothing is evicted.
WARMUP="${WARMUP:-60}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
[ -n "${WARD_BIN:-}" ] || cargo build --release --locked -p ward --bin ward >&2
WARD=${WARD_BIN:-target/release/ward}
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
DB="$WORK/ward.db"
ADMIN=$("$WARD" keys create --scope admin --label bench --database "$DB" 2>/dev/null)
TOKEN=$("$WARD" keys create --scope decide --label bench --database "$DB" 2>/dev/null)

start() { # start CACHE_MEMORY: sets URL and PID
  WARD_LOG=warn "$WARD" serve --policy examples/clipstream.toml --database "$DB" \
    --listen 127.0.0.1:0 --no-bootstrap-key --cache-memory "$1" > "$WORK/ward.out" 2> "$WORK/ward.log" &
  PID=$!; PIDS+=($PID); URL=
  for _ in $(seq 1 200); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/ward.log" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && return
    sleep 0.05
  done
  echo "ward did not start:" >&2; cat "$WORK/ward.log" >&2; exit 1
}

start 64MiB
python3 - "$URL" "$ADMIN" "$DB" "$CHILDREN" <<'PY'
import json, sqlite3, sys, urllib.request
base, token, db, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def call(method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        return json.load(urllib.request.urlopen(req))
    except urllib.error.HTTPError as e:
        return json.load(e)
for i in range(12):
    call("PUT", f"/v1/children/template-{i}", {"age": {"method": "parent_declared", "age": 6 + i}})
    if i % 3 == 0:
        iv = call("POST", f"/v1/children/template-{i}/settings/recommend-videos", {"value": "on"})
        if "intervention" in iv:
            call("POST", f"/v1/interventions/{iv['intervention']['id']}/acknowledge", {})
con = sqlite3.connect(db, timeout=30)
rows = con.execute("SELECT id, generation, version, doc, updated_at_us FROM children WHERE id LIKE 'template-%' ORDER BY id").fetchall()
docs = [(json.loads(doc), generation, version, at) for (_, generation, version, doc, at) in rows]
def copies():
    for i in range(n):
        doc, generation, version, at = docs[i % len(docs)]
        doc = dict(doc, id=f"kid-{i}")
        yield (f"kid-{i}", generation, version, json.dumps(doc), at)
with con:
    con.executemany("INSERT INTO children (id, generation, version, doc, updated_at_us) VALUES (?, ?, ?, ?, ?)", copies())
print(f"seeded {n} children from {len(docs)} templates", file=sys.stderr)
PY
kill "$PID"; wait "$PID" 2>/dev/null || true

metric() { curl -s "$URL/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
run() { # run CACHE_MEMORY LABEL
  start "$1"
  # Warm up: the cache fills with what the Zipf load asks for most.
  WARD_TOKEN=$TOKEN WARD_CHILDREN=$CHILDREN wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/zipf.lua "$URL" > /dev/null
  local hits0 misses0
  hits0=$(metric ward_cache_hits_total); misses0=$(metric ward_cache_misses_total)
  WARD_TOKEN=$TOKEN WARD_CHILDREN=$CHILDREN wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s bench/zipf.lua "$URL" > "$WORK/wrk.out"
  if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.out"; then
    grep -E "Non-2xx|Socket errors" "$WORK/wrk.out" >&2; echo "NOT VALID" >&2; exit 1
  fi
  local hits misses
  hits=$(metric ward_cache_hits_total); misses=$(metric ward_cache_misses_total)
  printf '%-22s %10s %12s %8s %8s %9s %11s %10s %10s %10s\n' "$2" "$1" \
    "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")" \
    "$(awk '$1=="50%" {print $2}' "$WORK/wrk.out")" "$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")" \
    "$(python3 -c "import sys; h, m = float(sys.argv[1]) - float(sys.argv[2]), float(sys.argv[3]) - float(sys.argv[4]); print(f'{h / (h + m):.3f}')" "$hits" "$hits0" "$misses" "$misses0")" \
    "$(metric ward_cache_evictions_total)" "$(metric ward_cache_entries)" \
    "$(( $(metric ward_cache_size_bytes) >> 20 ))MiB" \
    "$(( $(awk '/VmRSS/ {print $2}' /proc/"$PID"/status) >> 10 ))MiB" >> "$WORK/table"
  kill "$PID"; wait "$PID" 2>/dev/null || true
}
printf '%-22s %10s %12s %8s %8s %9s %11s %10s %10s %10s\n' run budget "requests/s" p50 p99 "hit ratio" evictions entries "cache" "RSS" > "$WORK/table"
# What all the children weigh: the weigher puts these (three settings each, the policy's) at
# about 330 bytes each (the cache's size over its entries in a first run: 23 MiB for 74,224).
ALL_MIB=$(( CHILDREN * 330 >> 20 ))
run "$(( ALL_MIB / 10 ))MiB" "a tenth of all"
run "$(( ALL_MIB * 2 ))MiB" "room for all"
echo
echo "decide under a Zipf load: $CHILDREN children, ${SECONDS_EACH}s each after a ${WARMUP}s warm-up, wrk -t2 -c$CONNECTIONS, $(nproc) cores (shared), load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/table"
