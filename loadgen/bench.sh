#!/usr/bin/env bash
# Runs the load generator against release reference servers started here, each its own process
# (so their memory and CPU are measured apart), then stops everything it started.
#
#   loadgen/bench.sh VOTERS STORE SERVERS [loadgen options...]
#     STORE: memory | redis      SERVERS: server processes (voters are spread over them)
#
# With STORE=memory and SERVERS>1 the servers share nothing, so each gets its own run of the
# generator (separate conferences); with redis they share one Redis and the generator spreads
# one conference's voters over them (this needs the Socket.IO Redis adapter to fan out).
# SERVER_ARGS="..." is added to every server's command line (e.g. --result-interval-ms 1000;
# --worker-threads 1 when more processes than cores share the box, and pass loadgen's own
# --worker-threads 1 too).
# PIN=1 (redis, or memory with one server): server j (from 0) runs on CPU j mod cores, and the
# generator runs one worker per server (more if a server has over 18,000 voters), each driving
# only its server's voters on that server's CPU (loadgen --spread by-worker --pin-cpus); servers
# and generator run SCHED_BATCH, so a wake-up does not preempt the running sender. On one box a
# delivery then wakes no other CPU: 24 % less CPU per delivery at 30k voters over 2 servers, 40 %
# at 10k on one, whose CPU the run saturates (docs/benchmarks.md#placement).
# With redis, every node's /metrics is saved when the first question goes live and once it has
# closed (reports/RUN/metrics/), and loadgen/metrics-diff.py prints the difference at the end;
# so is the CPU of the nodes and of the generator, and the end prints the question's own CPU per
# delivery (the whole-run figure also carries the ramp's connections, joins and audience:count
# broadcasts).
# KILL_NODE=N KILL_DELAY=S (redis only): S seconds after the first question goes live, node N
# is killed with SIGKILL (a crash), or with KILL_SIGNAL (TERM: a graceful stop, which hands its
# countdowns over); pass --reconnect so its voters come back on another node. It is a fault of
# loadgen's nemesis (--fault), reported with the votes and errors around it.
# REDIS_PERSIST (redis): none (default) | rdb | everysec | always: Redis's durability, from no
# persistence to an append-only file fsynced on every write.
# Faults (loadgen --fault, docs/faults.md) find what they act on in the environment:
#   BENCH_REDIS_PID       Redis's pid as started (kill -STOP, kill -9)
#   BENCH_REDIS_START     the command that starts Redis again on the same port and data
#                         (daemonized; its pid then in BENCH_REDIS_PIDFILE)
#   BENCH_NODE_PIDS       the nodes' pids, in order; BENCH_NODE_PID_1, _2, ... each
#   BENCH_TARGETS         the nodes' URLs, comma-separated
# e.g. a Redis crash and restart 10 s into the first question:
#   loadgen/bench.sh 10000 redis 2 --fault '{ name = "redis crash", at = "q1+10s",
#     run = "kill -9 $BENCH_REDIS_PID", undo = "$BENCH_REDIS_START", undo_after_s = 1 }'
# MONGO=1: the nodes keep their catalog and results in a MongoDB-wire server (nx-27017 from
# .venv, in memory, on a free port), so a Redis that restarts empty can have its live questions
# restored (D26), and a MongoDB outage can be injected:
#   BENCH_MONGO_PID       its pid (kill -STOP for an outage, kill -CONT to end it)
# At the end the script prints how many final results MongoDB holds.
# At the end: TCP segments per delivery, from the machine's TCP counters over the run: near 2,
# most deliveries cost a segment and an ACK of their own; about 1 or below, a saturated CPU
# batched them (docs/benchmarks.md#placement).
# SERVER_BIN=path runs another reference-server build (e.g. an earlier commit's, to compare);
# LOADGEN_BIN=path another generator build.
# Build first: cargo build --release -p reference-server -p loadgen
set -euo pipefail
# SERVER_BIN is read from where the script was started, before the cd below.
if [ -n "${SERVER_BIN:-}" ]; then SERVER_BIN=$(realpath "$SERVER_BIN"); fi
if [ -n "${LOADGEN_BIN:-}" ]; then LOADGEN_BIN=$(realpath "$LOADGEN_BIN"); fi
cd "$(dirname "$0")/.."
voters=${1:?voters}; store=${2:-memory}; servers=${3:-1}; shift 3 || shift $#
bin=target/release
server_bin=${SERVER_BIN:-$bin/reference-server}
loadgen_bin=${LOADGEN_BIN:-$bin/loadgen}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
# Stops what it started, newest first: the nodes finish their pending result writes while
# Redis still runs, then Redis.
cleanup() {
  for ((j = ${#pids[@]} - 1; j >= 0; j--)); do
    kill -TERM "${pids[$j]}" 2>/dev/null || true
    [ "$j" -eq 0 ] || wait "${pids[$j]}" 2>/dev/null || true
  done
  # A Redis a fault started again runs daemonized: its pid is in the pidfile.
  if [ -n "${rdir:-}" ] && [ -s "$rdir/redis.pid" ]; then
    kill -CONT "$(cat "$rdir/redis.pid")" 2>/dev/null || true
    kill -TERM "$(cat "$rdir/redis.pid")" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  [ -z "${rdir:-}" ] || rm -rf "$rdir"
}
trap cleanup EXIT
redis_args=()
if [ "$store" = redis ]; then
  rport=$(free_port)
  rdir=$(mktemp -d /tmp/bench-redis-XXXXXX)
  case "${REDIS_PERSIST:-none}" in
    none) persist=(--save "" --appendonly no) ;;
    rdb) persist=(--save "1 1" --appendonly no) ;;
    everysec | always) persist=(--save "" --appendonly yes --appendfsync "$REDIS_PERSIST") ;;
    *) echo "bench: REDIS_PERSIST must be none, rdb, everysec or always" >&2; exit 2 ;;
  esac
  redis_cmd=(redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --pidfile "$rdir/redis.pid" "${persist[@]}" --maxclients 100000)
  # Redis is every node's shared dependency (in production it has a machine of its own): on
  # one box it runs at a higher priority than the nodes and the generator.
  nice -n -10 "${redis_cmd[@]}" >"$rdir/redis.log" 2>&1 &
  pids+=($!)
  export BENCH_REDIS_PID=$!
  export BENCH_REDIS_PIDFILE="$rdir/redis.pid"
  BENCH_REDIS_START="$(printf '%q ' nice -n -10 "${redis_cmd[@]}") --daemonize yes --logfile $rdir/redis.log"
  export BENCH_REDIS_START
  until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.1; done
  redis_args=(--redis-url "redis://127.0.0.1:$rport")
fi
mongo_args=()
if [ -n "${MONGO:-}" ]; then
  [ -x .venv/bin/nx-27017 ] || { echo "bench: MONGO=1 needs .venv/bin/nx-27017 (scripts/test installs it)" >&2; exit 2; }
  mport=$(free_port)
  mdir=$(mktemp -d /tmp/bench-mongo-XXXXXX)
  .venv/bin/nx-27017 --host 127.0.0.1 --port "$mport" --db memory --data-dir memory \
    --pid-file "$mdir/mongo.pid" --log-file /dev/null >"$mdir/mongo.log" 2>&1 &
  pids+=($!)
  export BENCH_MONGO_PID=$!
  until .venv/bin/python3 -c "import pymongo,sys; pymongo.MongoClient('127.0.0.1', $mport, serverSelectionTimeoutMS=300).admin.command('ping')" >/dev/null 2>&1; do sleep 0.2; done
  mongo_args=(--mongo-url "mongodb://127.0.0.1:$mport" --mongo-db bench)
fi
targets=(); spids=(); cores=$(nproc)
for i in $(seq 1 "$servers"); do
  port=$(free_port)
  pin=(); [ -n "${PIN:-}" ] && pin=(chrt --batch 0 taskset -c $(( (i - 1) % cores )))
  JWT_SECRET=bench-secret ADMIN_TOKEN=bench-admin RUST_LOG="${SERVER_LOG:-warn}" "${pin[@]}" "$server_bin" \
    --bind "127.0.0.1:$port" "${redis_args[@]}" "${mongo_args[@]}" --results-file "/tmp/bench-results-$port.jsonl" \
    --node-id "bench-node-$i" ${SERVER_ARGS:-} &
  pids+=($!); spids+=($!); targets+=("http://127.0.0.1:$port")
  until curl -sf "127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
done
run_id=bench-$(date +%s)
export JWT_SECRET=bench-secret ADMIN_TOKEN=bench-admin
BENCH_NODE_PIDS="${spids[*]}"; BENCH_TARGETS=$(IFS=,; echo "${targets[*]}")
export BENCH_NODE_PIDS BENCH_TARGETS
for i in "${!spids[@]}"; do export "BENCH_NODE_PID_$((i + 1))=${spids[$i]}"; done
if [ "$store" = memory ] && [ "$servers" -gt 1 ]; then
  # Separate conferences, one generator per server, at the same time.
  per=$(( voters / servers )); gpids=()
  for i in $(seq 0 $(( servers - 1 ))); do
    "$loadgen_bin" --target "${targets[$i]}" --server-pid "${spids[$i]}" --voters "$per" \
      --run-id "$run_id-s$i" --report-dir "reports/$run_id/server-$i" "$@" > "/tmp/$run_id-s$i.log" 2>&1 &
    gpids+=($!)
  done
  status=0
  for p in "${gpids[@]}"; do wait "$p" || status=1; done
  for i in $(seq 0 $(( servers - 1 ))); do tail -n 14 "/tmp/$run_id-s$i.log"; done
  exit $status
fi
args=(); for t in "${targets[@]}"; do args+=(--target "$t"); done
if [ -n "${PIN:-}" ]; then
  per_server=$(( (voters + servers - 1) / servers ))
  args+=(--spread by-worker --pin-cpus --workers $(( servers * ((per_server + 17999) / 18000) )))
fi
for p in "${spids[@]}"; do args+=(--server-pid "$p"); done
if [ "$store" = redis ]; then
  # Every node's /metrics when the first question goes live and once it has closed, under
  # reports/RUN/metrics/: the difference of the two is the question's own figures (store call
  # and event queue latency, broadcasts, votes), without the joins before it. At the same two
  # moments, the CPU time of the nodes and of the generator's processes (cpu-live.txt,
  # cpu-closed.txt: a "time EPOCH" line, then a "ROLE PID TICKS" line per process), for the
  # question's own CPU per delivery printed at the end.
  (
    mkdir -p "reports/$run_id/metrics"
    scrape() {
      for t in "${targets[@]}"; do curl -sf "$t/metrics" > "reports/$run_id/metrics/$1-${t##*:}.prom" & done
      wait
    }
    # "node PID TICKS" and "generator PID TICKS" lines (user + system clock ticks, read after the
    # command name, which may hold spaces); a process gone by then is left out.
    ticks() {
      local role=$1 p; shift
      for p in "$@"; do
        sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk -v r="$role" -v p="$p" '{ print r, p, $12 + $13 }' || true
      done
    }
    gen=$(basename "$loadgen_bin"); gen=${gen:0:15}  # the kernel keeps 15 characters of a name
    cpu_now() {
      local top; top=$(pgrep -x "$gen" -P $$ | head -n 1 || true)
      { echo "time $(date +%s.%N)"; ticks node "${spids[@]}"
        [ -z "$top" ] || ticks generator "$top" $(pgrep -P "$top" || true); } > "reports/$run_id/metrics/cpu-$1.txt"
    }
    until [ "$(redis-cli -p "$rport" hlen runs:open 2>/dev/null)" = 1 ]; do sleep 0.2; done
    cpu_now live || true; scrape live
    until [ "$(redis-cli -p "$rport" hlen runs:open 2>/dev/null)" = 0 ]; do sleep 0.2; done
    cpu_now closed || true; scrape closed
  ) &
  pids+=($!)
fi
if [ -n "${KILL_NODE:-}" ] && [ "$store" = redis ]; then
  victim=${spids[$(( KILL_NODE - 1 ))]}
  sig=${KILL_SIGNAL:-KILL}
  args+=(--fault "{ name = \"node $KILL_NODE SIG$sig\", at = \"q1+${KILL_DELAY:-5}s\", run = \"kill -$sig $victim\" }")
fi
# TCP segments over the run, whole machine (on loopback each is counted once sent, once received).
# Never fatal: without the counters the line is just not printed.
tcp_segments() { awk '/^Tcp:/ && ++n == 2 { printf "%.0f\n", $11 + $12 }' /proc/net/snmp 2>/dev/null || echo 0; }
segments_before=$(tcp_segments)
status=0
${PIN:+chrt --batch 0} "$loadgen_bin" "${args[@]}" --voters "$voters" --run-id "$run_id" --report-dir "reports/$run_id" "$@" || status=$?
segments_after=$(tcp_segments)
segments=$(( ${segments_after:-0} - ${segments_before:-0} ))
python3 - "reports/$run_id/summary.json" "$segments" <<'PY' || true
import json, sys
try:
    deliveries = json.load(open(sys.argv[1])).get("deliveries") or 0
except (OSError, ValueError):
    deliveries = 0  # no summary: the run stopped early
segments = int(sys.argv[2]) / 2
if deliveries and segments > 0:
    print(f"bench: TCP segments per delivery: {segments / deliveries:.2f} "
          f"({segments:,.0f} segments over the run, all directions, {deliveries:,} deliveries)")
PY
# The first question's own CPU per delivery: the whole-run figures above also carry the ramp
# (connections, joins, and the audience:count broadcasts to a growing room).
python3 - "reports/$run_id" "$(getconf CLK_TCK)" <<'PY' || true
import json, sys
run, hz = sys.argv[1], int(sys.argv[2])
def sample(name):
    time, cpu = None, {}
    for line in open(f"{run}/metrics/cpu-{name}.txt"):
        role, *rest = line.split()
        if role == "time":
            time = float(rest[0])
        else:
            cpu[(role, rest[0])] = int(rest[1])
    return time, cpu
try:
    (t0, live), (t1, closed) = sample("live"), sample("closed")
    seconds = json.load(open(f"{run}/shard.json"))["seconds"]
except (OSError, ValueError, KeyError, IndexError):
    sys.exit(0)  # no question went live and closed, or no report: nothing to say
# Deliveries counted in each second, weighted by how much of that second the window covers.
window = sum(s["deliveries"] * max(0.0, min(int(k) + 1, t1) - max(int(k), t0)) for k, s in seconds.items())
gone = [f"{role} {pid}" for role, pid in live if (role, pid) not in closed]
def per(role):
    ticks = sum(closed[key] - live[key] for key in live if key[0] == role and key in closed)
    return ticks / hz * 1e6 / window
if not window or not any(role == "generator" for role, _ in live):
    sys.exit(0)
print(f"bench: during the first question ({t1 - t0:.1f} s, {window:,.0f} deliveries): nodes "
      f"{per('node'):.2f} µs per delivery, generator {per('generator'):.2f} µs per message "
      f"(process CPU at 1/{hz} s)" + (f"; not counted, gone before the close: {', '.join(gone)}" if gone else ""))
PY
if compgen -G "reports/$run_id/metrics/closed-*.prom" >/dev/null; then
  echo "bench: the nodes' own figures for the first question (loadgen/metrics-diff.py):"
  python3 loadgen/metrics-diff.py "reports/$run_id" || true
fi
if [ -n "${MONGO:-}" ]; then
  # The nodes write what is still pending before they stop: stop them first (TERM, waited for).
  for p in "${spids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${spids[@]}"; do wait "$p" 2>/dev/null || true; done
  kill -CONT "$BENCH_MONGO_PID" 2>/dev/null || true
  .venv/bin/python3 -c "
import pymongo
db = pymongo.MongoClient('127.0.0.1', $mport).bench
docs = list(db.conferencequestionanalytics.find({}, {'_id': 0, 'questionId': 1, 'totalResponses': 1}))
print('bench: MongoDB holds', len(docs), 'final results:', sorted((d['questionId'], d['totalResponses']) for d in docs))
" || true
fi
[ -z "${mdir:-}" ] || rm -rf "$mdir"
exit $status
