#!/usr/bin/env bash
# What each Redis durability mode costs the reference server's votes: the footprint example
# (one release node, N sockets, every audience socket voting at once) on a fresh Redis per mode,
# printing each mode's simultaneous-vote p99 and votes per second (docs/benchmarks.md#faults).
#
#   loadgen/durability-cost.sh [SOCKETS]        # default 5,000
#
# Build first: cargo build --release -p reference-server --examples
set -euo pipefail
cd "$(dirname "$0")/.."
sockets=${1:-5000}
for mode in none everysec always; do
  dir=$(mktemp -d /tmp/durability-cost-XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  case $mode in
    none) persist=(--save "" --appendonly no) ;;
    *) persist=(--save "" --appendonly yes --appendfsync "$mode") ;;
  esac
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" "${persist[@]}" --maxclients 100000 >"$dir/log" 2>&1 &
  rpid=$!
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
  echo "== $mode"
  target/release/examples/footprint --sockets "$sockets" --redis-url "redis://127.0.0.1:$port" 2>&1 | tail -n 4
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
  rm -rf "$dir"
done
