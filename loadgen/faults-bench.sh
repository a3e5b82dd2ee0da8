#!/usr/bin/env bash
# The reference server under faults (docs/faults.md, docs/benchmarks.md#faults): each fault of
# the project's fault list, mid-question, on a VOTERS-voter run (default 10,000) over two
# reference-server nodes sharing one Redis, through loadgen/bench.sh and loadgen's nemesis.
# Prints one line per run (verdict, the fault's own line) and leaves each report under
# reports/faults-<name>-<time>/.
#
#   loadgen/faults-bench.sh                     # every fault
#   loadgen/faults-bench.sh crash-none stall    # some of them
#   VOTERS=2000 loadgen/faults-bench.sh         # smaller
#
# Faults: crash-none crash-everysec crash-always (Redis kill -9 10 s into a 30 s question and
# started again on its data 1 s later, per durability mode), stall (Redis SIGSTOP for 5 s),
# node-death (node 2 killed 10 s in; its voters reconnect to node 1), mongo-outage (MongoDB
# stopped for 60 s while three questions close), burst-none burst-always (no fault: every vote
# within the first seconds, for what fsync-always costs in votes per second).
# Build first: cargo build --release -p reference-server -p loadgen
set -uo pipefail
cd "$(dirname "$0")/.."
voters=${VOTERS:-10000}
all=(crash-none crash-everysec crash-always stall node-death mongo-outage burst-none burst-always)
[ $# -gt 0 ] && runs=("$@") || runs=("${all[@]}")
crash='{ name = "redis crash", at = "q1+10s", run = "kill -9 $BENCH_REDIS_PID", undo = "$BENCH_REDIS_START", undo_after_s = 1 }'
one_question=(--questions 1 --question-duration 30)
for name in "${runs[@]}"; do
  env=(MONGO=1); args=()
  case "$name" in
    crash-none | crash-everysec | crash-always)
      env+=(REDIS_PERSIST="${name#crash-}"); args=("${one_question[@]}" --fault "$crash") ;;
    stall)
      args=("${one_question[@]}" --fault '{ name = "redis stall", at = "q1+10s", run = "kill -STOP $BENCH_REDIS_PID", undo = "kill -CONT $BENCH_REDIS_PID", undo_after_s = 5 }') ;;
    node-death)
      env+=(KILL_NODE=2 KILL_DELAY=10); args=("${one_question[@]}" --reconnect) ;;
    mongo-outage)
      args=(--questions 3 --question-duration 20 --fault '{ name = "mongodb outage", at = "q1+15s", run = "kill -STOP $BENCH_MONGO_PID", undo = "kill -CONT $BENCH_MONGO_PID", undo_after_s = 60 }') ;;
    burst-none | burst-always)
      env+=(REDIS_PERSIST="${name#burst-}"); args=(--workload loadgen/workloads/vote-burst.toml) ;;
    *) echo "faults-bench: unknown run $name (one of: ${all[*]})" >&2; exit 2 ;;
  esac
  log="/tmp/faults-bench-$name.log"
  env "${env[@]}" loadgen/bench.sh "$voters" redis 2 "${args[@]}" >"$log" 2>&1
  status=$?
  report=$(grep -o 'report [^ ]*index.html' "$log" | tail -1 | cut -d' ' -f2)
  dest="reports/faults-$name-$(date +%H%M%S)"
  [ -n "$report" ] && mv "$(dirname "$report")" "$dest" 2>/dev/null
  echo "== $name: exit $status, report $dest/index.html"
  grep -E '\] (PASS|FAIL)|\] fault |violation|vote_ack |fanout_question_live |join  |MongoDB holds|CPU per' "$log" | sed 's/\x1b\[[0-9;]*m//g'
done
