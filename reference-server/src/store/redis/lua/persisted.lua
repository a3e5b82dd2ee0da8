-- A final result is confirmed written (D23): drop it from results:pending and delete the run's
-- vote keys (spec 4.3 step 6), unless a newer run of the same question is still open (D14
-- re-push): meta status is LIVE from push until close, even after the live key's TTL ran out.
-- KEYS: 1 results:pending, 2 question meta, 3 votes:counts, 4 votes:users, 5 votes:correct
-- ARGV: 1 pending field
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'status') ~= 'LIVE' then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
end
return 1
