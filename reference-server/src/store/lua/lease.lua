-- Take or renew the countdown lease of one run (D16, D25).
-- KEYS: 1 question:{id}:timer:lease
-- ARGV: 1 nodeId, 2 startedAt, 3 TTL ms, 4 'hold' (take or renew) or 'take' (only if free)
-- Returns 1 when this call took or renewed the lease, 0 otherwise.
local want = ARGV[1] .. '|' .. ARGV[2]
local held = redis.call('GET', KEYS[1])
if held == want then
  if ARGV[4] == 'take' then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
local suffix = '|' .. ARGV[2]
if held and string.sub(held, -#suffix) == suffix then return 0 end
-- Free, or left over from an earlier run of the same question.
redis.call('SET', KEYS[1], want, 'PX', ARGV[3])
return 1
