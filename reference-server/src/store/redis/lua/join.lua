-- One more socket of a user in a conference (spec 7.1 step 4, D9).
-- KEYS: 1 audience:sockets hash, 2 audience set, 3 user:{u}:conferences, 4 audience:count cache
-- ARGV: 1 userId, 2 conferenceId, 3 "1" when the user is AUDIENCE
-- Returns {first socket of this user (0/1), audience count}
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local first = 0
if n == 1 then
  first = 1
  redis.call('SADD', KEYS[3], ARGV[2])
  if ARGV[3] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) end
end
local count = redis.call('SCARD', KEYS[2])
redis.call('SET', KEYS[4], count, 'EX', 10)
return {first, count}
