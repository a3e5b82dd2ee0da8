-- Push live, spec 4.1 steps 5-6, in one step.
-- KEYS: 1 question meta, 2 live_question, 3 timer, 4 votes:counts, 5 votes:users, 6 votes:correct,
--       7 runs:open
-- ARGV: 1 conferenceId, 2 questionId, 3 questionText, 4 options JSON, 5 correctOption,
--       6 startedAt, 7 expiresAt, 8 duration, 9 meta TTL ms, 10 vote keys TTL ms,
--       11.. option keys
-- TTLs are relative (PEXPIRE), so a clock difference between server and Redis cannot shorten
-- a question: live_question and timer live exactly `duration` seconds.
redis.call('HSET', KEYS[1], 'conferenceId', ARGV[1], 'questionText', ARGV[3],
  'options', ARGV[4], 'correctOption', ARGV[5], 'status', 'LIVE')
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HSET', KEYS[2], 'questionId', ARGV[2], 'startedAt', ARGV[6],
  'expiresAt', ARGV[7], 'duration', ARGV[8])
local duration_ms = tonumber(ARGV[8]) * 1000
redis.call('PEXPIRE', KEYS[2], duration_ms)
redis.call('HSET', KEYS[3], 'startedAt', ARGV[6], 'expiresAt', ARGV[7], 'duration', ARGV[8])
redis.call('PEXPIRE', KEYS[3], duration_ms)
local fields = {'total', 0}
for i = 11, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = 0
end
redis.call('HSET', KEYS[4], unpack(fields))
redis.call('PEXPIRE', KEYS[4], ARGV[10])
redis.call('SET', KEYS[6], 0, 'PX', ARGV[10])
redis.call('HSET', KEYS[7], ARGV[1], ARGV[2] .. '|' .. ARGV[6] .. '|' .. ARGV[7] .. '|' .. ARGV[8])
return 1
