-- A node stopping gracefully gives a run's countdown up (D16, D25): if it still holds the
-- lease, the lease becomes 'handover|nextTick|startedAt' for one TTL, so the node that takes it
-- (lease.lua) goes on from the tick this one would have sent next.
-- KEYS: 1 question:{id}:timer:lease
-- ARGV: 1 nodeId|startedAt, 2 startedAt, 3 next tick, 4 TTL ms
-- Returns 1 when handed over, 0 when this node did not hold the lease.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'handover|' .. ARGV[3] .. '|' .. ARGV[2], 'PX', ARGV[4])
  return 1
end
return 0
