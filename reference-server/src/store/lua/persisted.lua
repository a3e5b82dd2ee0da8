-- A final result is confirmed written (D23): drop it from results:pending and delete the run's
-- vote keys (spec 4.3 step 6), unless the same question is live again (D14 re-push).
-- KEYS: 1 results:pending, 2 live_question, 3 votes:counts, 4 votes:users, 5 votes:correct
-- ARGV: 1 pending field, 2 questionId
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'questionId') ~= ARGV[2] then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
end
return 1
