-- Take or renew the countdown lease of one run (D16, D25).
-- KEYS: 1 question:{id}:timer:lease
-- ARGV: 1 nodeId, 2 startedAt, 3 TTL ms, 4 'hold' (take or renew) or 'take' (only if free)
-- The value is 'nodeId|startedAt' while a node holds it, or 'handover|nextTick|startedAt'
-- after the node gave the run up on a graceful stop (handover.lua).
-- Returns {1, nextTick} when this call took or renewed the lease (nextTick 0 unless it took a
-- handed-over lease: the tick to go on from), {0, 0} otherwise.
local want = ARGV[1] .. '|' .. ARGV[2]
local held = redis.call('GET', KEYS[1])
if held == want then
  if ARGV[4] == 'take' then return {0, 0} end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, 0}
end
local suffix = '|' .. ARGV[2]
local next_tick = 0
if held then
  local tick, started = string.match(held, '^handover|(%d+)|(%d+)$')
  if started == ARGV[2] then
    -- Handed over: only for a node looking for it, never to a late renewal of the node that
    -- handed it over.
    if ARGV[4] ~= 'take' then return {0, 0} end
    next_tick = tonumber(tick)
  elseif string.sub(held, -#suffix) == suffix then
    return {0, 0} -- another node holds this run's countdown
  end
end
-- Free, handed over, or left over from an earlier run of the same question.
redis.call('SET', KEYS[1], want, 'PX', ARGV[3])
return {1, next_tick}
