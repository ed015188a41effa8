#!/usr/bin/env bash
# Write benchmark (not run by CI): durable child creations over HTTP (`PUT
# /v1/children/<new id>`, each answered 201 only once committed), with wrk on loopback, for
# one or more ward binaries side by side in one run: SQLite, PostgreSQL on one node, and
# PostgreSQL on two nodes (wrk's connections split between them), at each connection count.
# Prints creations/s (the sum over the nodes), p50 and p99 (the worse node's), and ratios to
# the first binary. Needs wrk and, for PostgreSQL, WARD_BENCH_DATABASE_URL (a database ward
# may create schemas in; each run gets a fresh one).
#
#   bench/writes.sh [SECONDS] [CONNECTIONS...] -- NAME=BINARY...
#   bench/writes.sh 10 16 64 -- before=/tmp/ward-before after=target/release/ward
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"; shift || true
CONNECTIONS=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do CONNECTIONS+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#CONNECTIONS[@]} -gt 0 ] || CONNECTIONS=(16 64)
BINARIES=("$@")
[ ${#BINARIES[@]} -gt 0 ] || BINARIES=("ward=target/release/ward")
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
PG_BASE="${WARD_BENCH_DATABASE_URL:-}"
BACKENDS=(sqlite)
[ -n "$PG_BASE" ] && BACKENDS+=(postgres postgres-2)

WORK=$(mktemp -d)
PIDS=()
cleanup() { [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # start NAME BINARY DATABASE: runs ward serve, sets URL
  local name=$1 binary=$2 database=$3
  WARD_LOG=warn "$binary" serve --policy examples/clipstream.toml --database "$database" \
    --listen 127.0.0.1:0 --no-bootstrap-key > "$WORK/$name.out" 2> "$WORK/$name.log" &
  PIDS+=($!)
  URL=
  for _ in $(seq 1 400); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/$name.log" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && return
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}

stop_all() { [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; PIDS=(); }

fresh_schema() { # prints a URL whose connections use a new, empty schema
  local schema="ward_bench_$$_$RANDOM$RANDOM"
  psql -q "$PG_BASE" -c "CREATE SCHEMA $schema" >/dev/null
  local separator='?'; [[ "$PG_BASE" == *\?* ]] && separator='&'
  echo "${PG_BASE}${separator}options=-c%20search_path%3D${schema}"
}

wrk_run() { # wrk_run URL CONNECTIONS PREFIX OUT
  WARD_TOKEN=$TOKEN WARD_PREFIX=$3 wrk -t2 -c"$2" -d"${SECONDS_EACH}s" --latency \
    -s bench/create.lua "$1" > "$4"
}

to_ms() { # wrk's "1.23ms" / "850.00us" / "1.02s" to milliseconds
  python3 -c "import sys,re; v=sys.argv[1]; m=re.match(r'([0-9.]+)(us|ms|s)', v); f={'us':0.001,'ms':1,'s':1000}[m.group(2)]; print(f'{float(m.group(1))*f:.2f}')" "$1"
}

printf '%-10s %-12s %6s %14s %10s %10s %14s\n' binary backend conns "creations/s" p50_ms p99_ms "stored"
RESULTS="$WORK/results"
for connections in "${CONNECTIONS[@]}"; do
  for backend in "${BACKENDS[@]}"; do
    for named in "${BINARIES[@]}"; do
      name=${named%%=*}; binary=${named#*=}
      case $backend in
        sqlite) database="$WORK/$name-$connections.db"; nodes=1 ;;
        postgres) database=$(fresh_schema); nodes=1 ;;
        postgres-2) database=$(fresh_schema); nodes=2 ;;
      esac
      TOKEN=$("$binary" keys create --scope admin --label bench --database "$database" 2>/dev/null)
      URLS=()
      for node in $(seq 1 $nodes); do start "$name-$node" "$binary" "$database"; URLS+=("$URL"); done
      per_node=$(( connections / nodes ))
      # A short warm-up (connections, the policy's first child), then the measured run.
      SECONDS_SAVED=$SECONDS_EACH; SECONDS_EACH=2
      wrk_run "${URLS[0]}" "$per_node" "warm-$name" "$WORK/warm.out"
      SECONDS_EACH=$SECONDS_SAVED
      for node in $(seq 1 $nodes); do
        wrk_run "${URLS[$((node-1))]}" "$per_node" "run-$node" "$WORK/wrk-$node.out" &
      done
      wait $(jobs -p | tail -n $nodes) 2>/dev/null || true
      rps=0; p50=0; p99=0
      for node in $(seq 1 $nodes); do
        out="$WORK/wrk-$node.out"
        if grep -qE "Non-2xx|Socket errors" "$out"; then
          grep -E "Non-2xx|Socket errors" "$out" | sed "s|^|$name $backend $connections node $node: |" | tee -a "$WORK/errors" >&2
        fi
        r=$(awk '/Requests\/sec/ {print $2}' "$out")
        q50=$(to_ms "$(awk '$1=="50%" {print $2}' "$out")")
        q99=$(to_ms "$(awk '$1=="99%" {print $2}' "$out")")
        rps=$(python3 -c "print(round($rps + $r))")
        p50=$(python3 -c "print(max($p50, $q50))")
        p99=$(python3 -c "print(max($p99, $q99))")
      done
      stop_all
      ratio="-"
      if [ "$backend" = sqlite ] && command -v sqlite3 >/dev/null; then
        ratio=$(sqlite3 "$database" "SELECT COUNT(*) FROM children" 2>/dev/null || echo "?")
        ratio="$ratio stored"
      fi
      printf '%-10s %-12s %6s %14s %10s %10s %14s\n' "$name" "$backend" "$connections" "$rps" "$p50" "$p99" "$ratio"
      echo "$name $backend $connections $rps $p50 $p99" >> "$RESULTS"
    done
  done
done
first=${BINARIES[0]%%=*}
python3 - "$RESULTS" "$first" <<'PY'
import sys, collections
rows = [line.split() for line in open(sys.argv[1])]
first = sys.argv[2]
base = {(b, c): float(r) for n, b, c, r, _, _ in rows if n == first}
print()
for n, b, c, r, _, _ in rows:
    if n != first and (b, c) in base and base[(b, c)] > 0:
        print(f"{n} / {first}, {b}, {c} connections: {float(r) / base[(b, c)]:.1f}x")
PY
if [ -s "$WORK/errors" ]; then
  echo "NOT VALID: some answers were not 2xx, or sockets failed:" >&2
  cat "$WORK/errors" >&2
  exit 1
fi
