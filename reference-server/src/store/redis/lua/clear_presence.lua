-- Conference ended: presence cleared (spec 2.5 "DEL on conference end", D8).
-- KEYS: 1 audience:sockets hash, 2 audience set, 3 audience:count cache
-- ARGV: 1 conferenceId. The user:{u}:conferences keys are derived from the hash (single Redis).
local users = redis.call('HKEYS', KEYS[1])
for _, u in ipairs(users) do
  redis.call('SREM', 'user:' .. u .. ':conferences', ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return #users
