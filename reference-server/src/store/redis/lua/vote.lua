-- A vote, spec 5.1 steps 1-6 in D18's order, atomically.
-- KEYS: 1 conference host, 2 live_question, 3 question meta, 4 votes:users, 5 votes:counts,
--       6 votes:correct, 7 vote lock, 8 conference status
-- ARGV: 1 userId, 2 questionId, 3 option (upper-cased), 4 now ms, 5 vote keys TTL after expiry ms
-- (the voters set expires with the counts: the live question's remaining time plus ARGV[5])
-- Returns {"accepted", isCorrect 0/1}, {"rejected", reason}, or {"lost", 0} when the
-- conference itself is gone (a joined socket's conference always has a host key: the store lost
-- data, D26).
local host = redis.call('GET', KEYS[1])
if host == ARGV[1] then return {'rejected', 'not_audience'} end
-- An ended conference has no audience left (spec 2.5 clears presence), whichever node the
-- socket is on and whether or not that node has heard of the end yet.
if redis.call('GET', KEYS[8]) == 'ENDED' then return {'rejected', 'not_audience'} end
local live = redis.call('HMGET', KEYS[2], 'questionId')
if live[1] ~= ARGV[2] then
  if not host then return {'lost', 0} end
  return {'rejected', 'question_closed'}
end
local meta = redis.call('HMGET', KEYS[3], 'options', 'correctOption')
if not meta[1] then return {'rejected', 'question_closed'} end
local valid = false
for _, o in ipairs(cjson.decode(meta[1])) do
  if o.key == ARGV[3] then valid = true break end
end
if not valid then return {'rejected', 'invalid_option'} end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return {'rejected', 'duplicate'} end
if not redis.call('SET', KEYS[7], ARGV[4], 'NX', 'PX', 2000) then
  return {'rejected', 'duplicate'}
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('PEXPIRE', KEYS[4], math.max(redis.call('PTTL', KEYS[2]), 0) + tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[5], 'total', 1)
redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
local correct = 0
if meta[2] == ARGV[3] then
  redis.call('INCR', KEYS[6])
  correct = 1
end
redis.call('DEL', KEYS[7])
return {'accepted', correct}
