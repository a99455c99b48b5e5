#!/usr/bin/env bash
# Production session features, authkeep against a real better-auth 1.7.25 with the same options,
# side by side on this machine, one PostgreSQL server and one Redis:
#   1. GET /get-session with the cookie cache on (compact, max age 300 s), 64 connections;
#   2. the cost of rate limiting on that same get-session: off, memory, Redis (secondary storage)
#      and the database (better-auth's rateLimit table), with a limit high enough never to
#      refuse, so every request pays for the check only (all 64 connections in one bucket: the
#      worst case for contention on one counter).
# Prints a JSON report and writes bench/results/sessions-latest.json.
#
#   bench/sessions.sh        # needs: cargo, node 20+, wrk, PostgreSQL on :5432, Redis on :6379
#   DURATION=10 bench/sessions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
PG=${AUTHKEEP_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${AUTHKEEP_TEST_REDIS_URL:-redis://127.0.0.1:6379}
SECRET=bench-secret-0123456789abcdef0123456789abcdef
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --locked -p authkeep --bin authkeep >&2
npm ci --prefix compat --no-audit --no-fund --loglevel=error >&2

work=$(mktemp -d)
pids=()
DBS=(bench_cache_ak bench_cache_ba)
ROUNDS=${ROUNDS:-2}   # each figure is the mean of this many runs, modes interleaved
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do psql "$PG" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; done
  redis-cli -u "$REDIS" --scan --pattern 'authkeep-bench:*' | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
  redis-cli -u "$REDIS" --scan --pattern 'ba-bench:*' | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for db in "${DBS[@]}"; do
  psql "$PG" -qc "drop database if exists $db with (force)" >/dev/null
  psql "$PG" -qc "create database $db" >/dev/null
done
db_url() { echo "${PG%/*}/$1"; }

wait_ready() {
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return; sleep 0.01; done
  echo "server at $1 never became ready" >&2; exit 1
}

# Cookie cache on, and the rest as each server's production default.
CACHE_AK=(AUTHKEEP_SESSION__COOKIE_CACHE__ENABLED=true AUTHKEEP_SESSION__COOKIE_CACHE__MAX_AGE=300)
CACHE_BA=(COOKIE_CACHE_ENABLED=true COOKIE_CACHE_MAX_AGE=300)
NEVER_REFUSE_AK=(AUTHKEEP_RATE_LIMIT__WINDOW=10 AUTHKEEP_RATE_LIMIT__MAX=1000000000)
NEVER_REFUSE_BA=(RATE_LIMIT_WINDOW=10 RATE_LIMIT_MAX=1000000000)

start_ak() { # port, extra env...
  local port=$1; shift
  env DATABASE_URL="$(db_url bench_cache_ak)" BETTER_AUTH_SECRET=$SECRET RUST_LOG=warn "${CACHE_AK[@]}" "$@" \
    target/release/authkeep serve --listen 127.0.0.1:"$port" --base-url http://127.0.0.1:"$port" >>"$work/ak.log" 2>&1 &
  pids+=($!); last_pid=$!
  wait_ready http://127.0.0.1:"$port"/ready
}
start_ba() { # port, extra env...
  local port=$1; shift
  env PORT="$port" DATABASE_URL="$(db_url bench_cache_ba)" BETTER_AUTH_SECRET=$SECRET NODE_ENV=production "${CACHE_BA[@]}" "$@" \
    node compat/harness/better-auth-server.mjs >>"$work/ba.log" 2>&1 &
  pids+=($!); last_pid=$!
  wait_ready http://127.0.0.1:"$port"/health
}
stop_last() { kill "$last_pid"; wait "$last_pid" 2>/dev/null || true; }

cookies_for() { # origin email -> "a=b; c=d" (session_token and session_data)
  curl -s -D - -o /dev/null -X POST "$1/api/auth/sign-up/email" -H 'content-type: application/json' \
    -d "{\"name\":\"Bench\",\"email\":\"$2\",\"password\":\"password1234\"}" \
    | awk -F': ' 'tolower($1)=="set-cookie" {split($2,a,";"); printf "%s%s", sep, a[1]; sep="; "}'
}

# wrk -> "rps p50_ms p99_ms non2xx"
run_wrk() {
  wrk --latency "$@" 2>&1 | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)} /^Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF}
    END {printf "%s %.3f %.3f %d\n", rps, p50, p99, bad+0}'
}
gs() { # port cookie -> wrk result, 64 connections
  run_wrk -t2 -c64 -d"${DURATION}"s -H "cookie: $2" http://127.0.0.1:"$1"/api/auth/get-session
}

declare -A R
add() { # key result: accumulate "rps p50 p99 non2xx" sums
  local prev=${R[$1]:-"0 0 0 0"}
  R[$1]=$(awk -v a="$prev" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f %.3f %.3f %d", x[1]+y[1], x[2]+y[2], x[3]+y[3], x[4]+y[4] }')
}
mean() { awk -v a="${R[$1]}" -v n="$ROUNDS" 'BEGIN { split(a, x, " "); printf "%.0f %.3f %.3f %d", x[1]/n, x[2]/n, x[3]/n, x[4] }'; }

# Sessions (and their cookie cache entries) made once per server.
start_ak 3200; ak_cookie=$(cookies_for http://127.0.0.1:3200 bench-ak@example.com); stop_last
case "$ak_cookie" in *session_data*) ;; *) echo "authkeep set no session_data: $ak_cookie" >&2; exit 1;; esac
start_ba 3201 RATE_LIMIT_ENABLED=false; ba_cookie=$(cookies_for http://127.0.0.1:3201 bench-ba@example.com); stop_last
case "$ba_cookie" in *session_data*) ;; *) echo "better-auth set no session_data: $ba_cookie" >&2; exit 1;; esac

REDIS_AK=(AUTHKEEP_SECONDARY_STORAGE__URL="$REDIS" AUTHKEEP_SECONDARY_STORAGE__KEY_PREFIX=authkeep-bench: AUTHKEEP_SESSION__STORE_SESSION_IN_DATABASE=true)
REDIS_BA=(REDIS_URL="$REDIS" REDIS_KEY_PREFIX=ba-bench: STORE_SESSION_IN_DATABASE=true)
for _ in $(seq 1 "$ROUNDS"); do
  # The cookie cache answers; rate limiting off.
  start_ak 3200; add ak_off "$(gs 3200 "$ak_cookie")"; stop_last
  start_ba 3201 RATE_LIMIT_ENABLED=false; add ba_off "$(gs 3201 "$ba_cookie")"; stop_last
  # The same without the jwt plugin's per-call token (set-auth-jwt), authkeep only.
  start_ak 3200 AUTHKEEP_JWT__SET_JWT_HEADER=false; add ak_nojwt "$(gs 3200 "$ak_cookie")"; stop_last
  # Rate limiting in memory.
  start_ak 3200 AUTHKEEP_RATE_LIMIT__ENABLED=true AUTHKEEP_RATE_LIMIT__STORAGE=memory "${NEVER_REFUSE_AK[@]}"
  add ak_mem "$(gs 3200 "$ak_cookie")"; stop_last
  start_ba 3201 RATE_LIMIT_ENABLED=true RATE_LIMIT_STORAGE=memory "${NEVER_REFUSE_BA[@]}"
  add ba_mem "$(gs 3201 "$ba_cookie")"; stop_last
  # Rate limiting in Redis (sessions stay in PostgreSQL too, so the cookies above still work).
  start_ak 3200 AUTHKEEP_RATE_LIMIT__ENABLED=true AUTHKEEP_RATE_LIMIT__STORAGE=secondary-storage "${NEVER_REFUSE_AK[@]}" "${REDIS_AK[@]}"
  add ak_redis "$(gs 3200 "$ak_cookie")"; stop_last
  start_ba 3201 RATE_LIMIT_ENABLED=true RATE_LIMIT_STORAGE=secondary-storage "${NEVER_REFUSE_BA[@]}" "${REDIS_BA[@]}"
  add ba_redis "$(gs 3201 "$ba_cookie")"; stop_last
  # Rate limiting in the database (one row, every request updates it).
  start_ak 3200 AUTHKEEP_RATE_LIMIT__ENABLED=true AUTHKEEP_RATE_LIMIT__STORAGE=database "${NEVER_REFUSE_AK[@]}"
  add ak_db "$(gs 3200 "$ak_cookie")"; stop_last
  start_ba 3201 RATE_LIMIT_ENABLED=true RATE_LIMIT_STORAGE=database "${NEVER_REFUSE_BA[@]}"
  add ba_db "$(gs 3201 "$ba_cookie")"; stop_last
done
for k in ak_off ak_nojwt ba_off ak_mem ba_mem ak_redis ba_redis ak_db ba_db; do R[$k]=$(mean $k); done

field() { echo "$1" | cut -d' ' -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "null" }'; }
cost() { awk -v on="$1" -v off="$2" 'BEGIN { if (off > 0) printf "%.1f", (1 - on / off) * 100; else print "null" }'; }
pair() { # name ak ba
  local a=$2 b=$3
  echo "  \"$1\": {\"authkeep\": {\"rps\": $(field "$a" 1), \"p50_ms\": $(field "$a" 2), \"p99_ms\": $(field "$a" 3), \"non2xx\": $(field "$a" 4)}, \"better_auth\": {\"rps\": $(field "$b" 1), \"p50_ms\": $(field "$b" 2), \"p99_ms\": $(field "$b" 3), \"non2xx\": $(field "$b" 4)}, \"rps_ratio\": $(ratio "$(field "$a" 1)" "$(field "$b" 1)")},"
}
mkdir -p bench/results
{
  echo "{"
  echo "  \"machine\": \"$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)\","
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"duration_s\": $DURATION, \"rounds\": $ROUNDS, \"connections\": 64,"
  pair get_session_cookie_cache "${R[ak_off]}" "${R[ba_off]}"
  a=${R[ak_nojwt]}
  echo "  \"get_session_cookie_cache_without_set_auth_jwt\": {\"authkeep\": {\"rps\": $(field "$a" 1), \"p50_ms\": $(field "$a" 2), \"p99_ms\": $(field "$a" 3), \"non2xx\": $(field "$a" 4)}},"
  pair get_session_cookie_cache_rate_limit_memory "${R[ak_mem]}" "${R[ba_mem]}"
  pair get_session_cookie_cache_rate_limit_redis "${R[ak_redis]}" "${R[ba_redis]}"
  pair get_session_cookie_cache_rate_limit_database "${R[ak_db]}" "${R[ba_db]}"
  costs() { # prefix
    echo "{\"memory\": $(cost "$(field "${R[${1}_mem]}" 1)" "$(field "${R[${1}_off]}" 1)"), \"redis\": $(cost "$(field "${R[${1}_redis]}" 1)" "$(field "${R[${1}_off]}" 1)"), \"database\": $(cost "$(field "${R[${1}_db]}" 1)" "$(field "${R[${1}_off]}" 1)")}"
  }
  echo "  \"rate_limit_cost_percent\": {\"authkeep\": $(costs ak), \"better_auth\": $(costs ba)}"
  echo "}"
} | tee bench/results/sessions-latest.json
