-- Claim tick k of a run's countdown (D16, D25, D26), in one step with its lease.
-- KEYS: 1 runs:open, 2 question:{id}:timer:lease, 3 conference:{id}:host
-- ARGV: 1 conferenceId, 2 questionId, 3 startedAt, 4 nodeId, 5 k, 6 lease TTL ms
-- The conference's field of runs:open is 'questionId|startedAt|expiresAt|duration', followed
-- by '|nextTick' once a tick was claimed: the first tick not sent yet, kept with the run, so
-- whichever node runs the countdown next (after a death, a hand-over, a stall) goes on from it
-- and no tick is sent twice or skipped.
-- Returns {1, 0} claimed, {2, nextTick} sent already, {3, 0} another node holds the lease,
-- {4, 0} the run is closed, {5, 0} the run and its conference are gone: the store lost data.
local open = redis.call('HGET', KEYS[1], ARGV[1])
if not open then
  if redis.call('EXISTS', KEYS[3]) == 0 then return {5, 0} end
  return {4, 0}
end
local q, started, expires, duration, rest =
  string.match(open, '^([^|]*)|(%-?%d+)|(%-?%d+)|(%d+)|?(%d*)$')
if q ~= ARGV[2] or started ~= ARGV[3] then return {4, 0} end
local want = ARGV[4] .. '|' .. ARGV[3]
local held = redis.call('GET', KEYS[2])
if held and held ~= want then return {3, 0} end
redis.call('SET', KEYS[2], want, 'PX', ARGV[6])
local k = tonumber(ARGV[5])
local next_tick = tonumber(rest) or 1
if next_tick > k then return {2, next_tick} end
redis.call('HSET', KEYS[1], ARGV[1],
  q .. '|' .. started .. '|' .. expires .. '|' .. duration .. '|' .. (k + 1))
return {1, 0}
