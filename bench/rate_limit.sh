#!/usr/bin/env bash
# get-session throughput with rate limiting off, on (memory) and on (database), alternating runs.
#   cargo build --release -p authkeep && bench/rate_limit.sh          # MODES="off on db" DURATION=8
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${AUTHKEEP_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=rlbench_$RANDOM
psql "$PG" -qc "create database $DB" >/dev/null
URL="${PG%/*}/$DB"
work=$(mktemp -d)
cat > "$work/on.toml" <<'T'
[rate_limit]
enabled = true
[rate_limit.custom_rules."/get-session"]
window = 10
max = 1000000000
T
cat > "$work/db.toml" <<'T'
[rate_limit]
enabled = true
storage = "database"
[rate_limit.custom_rules."/get-session"]
window = 10
max = 1000000000
T
cat > "$work/off.toml" <<'T'
[rate_limit]
enabled = false
T
run() { # mode -> req/s
  local mode=$1
  DATABASE_URL=$URL BETTER_AUTH_SECRET=bench-secret-0123456789abcdef0123456789abcdef RUST_LOG=warn \
    target/release/authkeep serve --listen 127.0.0.1:3299 --base-url http://127.0.0.1:3299 --config "$work/$mode.toml" >"$work/$mode.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -sf -o /dev/null http://127.0.0.1:3299/ready && break; sleep 0.02; done
  if [ ! -f "$work/cookie" ]; then
    curl -s -D "$work/h" -o /dev/null -H 'content-type: application/json' -H 'origin: http://127.0.0.1:3299' \
      -d '{"name":"B","email":"bench@example.com","password":"password1234"}' http://127.0.0.1:3299/api/auth/sign-up/email
    grep -i '^set-cookie: better-auth.session_token' "$work/h" | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//' | tr -d '\r' > "$work/cookie"
  fi
  local rps
  wrk -t2 -c64 -d${DURATION:-8}s --latency -H "cookie: $(cat "$work/cookie")" -H "x-forwarded-for: 203.0.113.9" http://127.0.0.1:3299/api/auth/get-session > "$work/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  local p99
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  kill $pid; wait $pid 2>/dev/null || true
  echo "$mode rps=$rps p99=$p99 non2xx=${non2xx:-0}"
}
for m in ${MODES:-off on off on off on}; do run $m; done
psql "$PG" -qc "drop database if exists $DB with (force)" >/dev/null
rm -rf "$work"
