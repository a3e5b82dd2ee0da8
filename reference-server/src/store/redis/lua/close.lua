-- Close a run, spec 4.3, atomically: decide, freeze the counts into results:pending, end it.
-- KEYS: 1 live_question, 2 timer, 3 votes:counts, 4 votes:correct, 5 question meta,
--       6 results:pending, 7 runs:open
-- ARGV: 1 questionId, 2 startedAt, 3 closedAt, 4 reason, 5 pending field, 6 conferenceId
-- Returns the frozen snapshot (JSON), or false when this run is already closed.
-- Whatever the outcome, this run is closed once the script returns, so it leaves runs:open.
local open = redis.call('HGET', KEYS[7], ARGV[6])
local prefix = ARGV[1] .. '|' .. ARGV[2] .. '|'
if open and string.sub(open, 1, #prefix) == prefix then redis.call('HDEL', KEYS[7], ARGV[6]) end
local live = redis.call('HMGET', KEYS[1], 'questionId', 'startedAt')
if live[1] then
  if live[1] ~= ARGV[1] or live[2] ~= ARGV[2] then return false end
else
  -- No live key: closed already, or expired by its TTL and never closed.
  if redis.call('HEXISTS', KEYS[6], ARGV[5]) == 1 then return false end
  if redis.call('EXISTS', KEYS[3]) == 0 then return false end
end
local meta = redis.call('HMGET', KEYS[5], 'options', 'correctOption')
local snapshot = cjson.encode({
  conferenceId = ARGV[6], questionId = ARGV[1], startedAt = ARGV[2], closedAt = ARGV[3],
  reason = ARGV[4], counts = redis.call('HGETALL', KEYS[3]),
  correct = redis.call('GET', KEYS[4]) or '0',
  options = meta[1] or '[]', correctOption = meta[2] or ''
})
redis.call('HSET', KEYS[6], ARGV[5], snapshot)
redis.call('DEL', KEYS[1], KEYS[2])
if meta[1] then redis.call('HSET', KEYS[5], 'status', 'CLOSED') end
return snapshot
