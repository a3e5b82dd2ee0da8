-- One socket of a user fewer (spec 7.2 step 3, 7.3, D9).
-- KEYS/ARGV as join.lua. Returns {last socket of this user (0/1), audience count}
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
local last = 0
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if n == 0 then
    last = 1
    redis.call('SREM', KEYS[3], ARGV[2])
    if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[1]) end
  end
end
local count = redis.call('SCARD', KEYS[2])
redis.call('SET', KEYS[4], count, 'EX', 10)
return {last, count}
