--[[
  Counts finished jobs' usage in one step: requests, tokens and micro-dollars of one combination of
  client, route, deployment and model in one minute, added to the UTC day's hash and the minute's
  hash (field: the combination), and to the lifetime totals (field: deployment and route). The
  worker sums the jobs of a few hundred milliseconds per combination and minute before it calls
  this, as it does for call metrics: one script per combination and flush, not fifteen commands
  per job.

  KEYS[1] day hash   KEYS[2] minute hash   KEYS[3] lifetime totals
  ARGV[1] combination field   ARGV[2] totals field   ARGV[3] requests   ARGV[4] prompt tokens
  ARGV[5] completion tokens   ARGV[6] cost (micro-dollars, 0: unknown)   ARGV[7] expiry (epoch ms)
  of the day hash   ARGV[8] expiry of the minute hash
]]
local requests = tonumber(ARGV[3])
local prompt = tonumber(ARGV[4])
local completion = tonumber(ARGV[5])
local cost = tonumber(ARGV[6])
local function count(key, field)
  redis.call('HINCRBY', key, field .. '|r', requests)
  redis.call('HINCRBY', key, field .. '|p', prompt)
  redis.call('HINCRBY', key, field .. '|c', completion)
  if cost > 0 then redis.call('HINCRBY', key, field .. '|u', cost) end
end
count(KEYS[1], ARGV[1])
count(KEYS[2], ARGV[1])
count(KEYS[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('PEXPIREAT', KEYS[2], ARGV[8])
return 1
