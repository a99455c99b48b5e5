#!/usr/bin/env bash
# authkeep against a real better-auth 1.7.25, side by side on this machine and one PostgreSQL
# server, same scrypt parameters, same plugins (bearer and jwt, authkeep's defaults). Then the
# per-request cost of each authkeep_fastapi mode. Prints a JSON report and writes bench/results/latest.json.
#
#   bench/run.sh            # needs: cargo, node 20+, wrk (apt-get install wrk), PostgreSQL on 127.0.0.1:5432
#   DURATION=10 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
PG=${AUTHKEEP_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SECRET=bench-secret-0123456789abcdef0123456789abcdef
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --locked -p authkeep --bin authkeep --example scrypt_bench >&2
npm ci --prefix compat --no-audit --no-fund --loglevel=error >&2

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for db in bench_ak bench_ba; do psql "$PG" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for db in bench_ak bench_ba; do
  psql "$PG" -qc "drop database if exists $db with (force)" >/dev/null
  psql "$PG" -qc "create database $db" >/dev/null
done
db_url() { echo "${PG%/*}/$1"; }

now_ms() { date +%s%3N; }
wait_ready() { # url -> ms waited
  local start=$1 url=$2
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$url" && { echo $(( $(now_ms) - start )); return; }
    sleep 0.01
  done
  echo "server at $url never became ready" >&2; exit 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# authkeep (release) on port 3100
t0=$(now_ms)
DATABASE_URL=$(db_url bench_ak) BETTER_AUTH_SECRET=$SECRET RUST_LOG=warn \
  target/release/authkeep serve --listen 127.0.0.1:3100 --base-url http://127.0.0.1:3100 >"$work/ak.log" 2>&1 &
pids+=($!); ak_pid=$!
ak_ready=$(wait_ready "$t0" http://127.0.0.1:3100/ready)

# better-auth on port 3101
t0=$(now_ms)
PORT=3101 DATABASE_URL=$(db_url bench_ba) BETTER_AUTH_SECRET=$SECRET NODE_ENV=production \
  node compat/harness/better-auth-server.mjs >"$work/ba.log" 2>&1 &
pids+=($!); ba_pid=$!
ba_ready=$(wait_ready "$t0" http://127.0.0.1:3101/health)

sleep 2
ak_idle=$(rss_kb "$ak_pid"); ba_idle=$(rss_kb "$ba_pid")

cookie_for() { # origin -> cookie pair of a fresh user
  curl -s -D - -o /dev/null -X POST "$1/api/auth/sign-up/email" -H 'content-type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"password1234"}' \
    | awk -F': ' 'tolower($1)=="set-cookie" {split($2,a,";"); print a[1]; exit}'
}
ak_cookie=$(cookie_for http://127.0.0.1:3100); ba_cookie=$(cookie_for http://127.0.0.1:3101)

cat >"$work/signin.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"password1234"}'
LUA

# wrk -> "rps p50_ms p99_ms non2xx"
run_wrk() {
  wrk --latency "$@" 2>&1 | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)} /^Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF}
    END {printf "%s %.3f %.3f %d\n", rps, p50, p99, bad+0}'
}

declare -A R
for c in 32 64; do
  R[ak_gs_$c]=$(run_wrk -t2 -c$c -d${DURATION}s -H "cookie: $ak_cookie" http://127.0.0.1:3100/api/auth/get-session)
  R[ba_gs_$c]=$(run_wrk -t2 -c$c -d${DURATION}s -H "cookie: $ba_cookie" http://127.0.0.1:3101/api/auth/get-session)
done
R[ak_si]=$(run_wrk -t2 -c8 -d${DURATION}s -s "$work/signin.lua" http://127.0.0.1:3100/api/auth/sign-in/email)
R[ba_si]=$(run_wrk -t2 -c8 -d${DURATION}s -s "$work/signin.lua" http://127.0.0.1:3101/api/auth/sign-in/email)
ak_busy=$(rss_kb "$ak_pid"); ba_busy=$(rss_kb "$ba_pid")

if [ ! -x target/py-venv/bin/python ]; then
  python3 -m venv target/py-venv && target/py-venv/bin/pip install --quiet --upgrade pip
fi
target/py-venv/bin/pip install --quiet "./python" >&2
fastapi=$(target/py-venv/bin/python bench/fastapi_overhead.py --auth-url http://127.0.0.1:3100 --database-url "$(db_url bench_ak)" --secret "$SECRET")

rust_scrypt=$(target/release/examples/scrypt_bench 20)
openssl_scrypt=$(python3 - <<'PY'
import hashlib, time, json
pw, salt = b"password1234", b"0123456789abcdef0123456789abcdef"
hashlib.scrypt(pw, salt=salt, n=16384, r=16, p=1, dklen=64, maxmem=64 * 1024 * 1024)
t = time.perf_counter()
for _ in range(20):
    hashlib.scrypt(pw, salt=salt, n=16384, r=16, p=1, dklen=64, maxmem=64 * 1024 * 1024)
print(json.dumps({"impl": "openssl-scrypt (python hashlib)", "ms_per_hash": round((time.perf_counter() - t) * 1000 / 20, 2), "iterations": 20}))
PY
)

field() { echo "$1" | cut -d' ' -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "null" }'; }
mkdir -p bench/results
{
  echo "{"
  echo "  \"machine\": \"$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)\","
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"duration_s\": $DURATION,"
  for c in 32 64; do
    a=${R[ak_gs_$c]}; b=${R[ba_gs_$c]}
    echo "  \"get_session_c$c\": {\"authkeep\": {\"rps\": $(field "$a" 1), \"p50_ms\": $(field "$a" 2), \"p99_ms\": $(field "$a" 3), \"non2xx\": $(field "$a" 4)}, \"better_auth\": {\"rps\": $(field "$b" 1), \"p50_ms\": $(field "$b" 2), \"p99_ms\": $(field "$b" 3), \"non2xx\": $(field "$b" 4)}, \"rps_ratio\": $(ratio "$(field "$a" 1)" "$(field "$b" 1)")},"
  done
  a=${R[ak_si]}; b=${R[ba_si]}
  echo "  \"sign_in_c8\": {\"authkeep\": {\"rps\": $(field "$a" 1), \"p50_ms\": $(field "$a" 2), \"p99_ms\": $(field "$a" 3), \"non2xx\": $(field "$a" 4)}, \"better_auth\": {\"rps\": $(field "$b" 1), \"p50_ms\": $(field "$b" 2), \"p99_ms\": $(field "$b" 3), \"non2xx\": $(field "$b" 4)}, \"rps_ratio\": $(ratio "$(field "$a" 1)" "$(field "$b" 1)")},"
  echo "  \"idle_rss_mb\": {\"authkeep\": $(awk -v k="$ak_idle" 'BEGIN{printf "%.1f", k/1024}'), \"better_auth\": $(awk -v k="$ba_idle" 'BEGIN{printf "%.1f", k/1024}')},"
  echo "  \"rss_after_load_mb\": {\"authkeep\": $(awk -v k="$ak_busy" 'BEGIN{printf "%.1f", k/1024}'), \"better_auth\": $(awk -v k="$ba_busy" 'BEGIN{printf "%.1f", k/1024}')},"
  echo "  \"start_to_ready_ms\": {\"authkeep\": $ak_ready, \"better_auth\": $ba_ready},"
  echo "  \"scrypt\": [$rust_scrypt, $openssl_scrypt],"
  echo "  \"fastapi_overhead\": $fastapi"
  echo "}"
} | tee bench/results/latest.json
