-- Release the push lock only if this operation still holds it (spec 2.7, 3.4 step 5).
-- KEYS: 1 lock key. ARGV: 1 the holder's token.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
