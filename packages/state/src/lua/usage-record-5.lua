--[[
  Counts one finished job's usage in one step: its requests, tokens and micro-dollars in the UTC
  day's hash and the minute's hash (field: the job's client, route, deployment and model), the
  lifetime totals (field: deployment and route), and the client's spend for the day and the month
  that the budget check reads. One script instead of a pipeline of fifteen commands: the worker
  sends one command per job, and Redis parses one.

  KEYS[1] day hash   KEYS[2] minute hash   KEYS[3] lifetime totals   KEYS[4] day spend   KEYS[5] month spend
  ARGV[1] combination field   ARGV[2] totals field   ARGV[3] prompt tokens   ARGV[4] completion tokens
  ARGV[5] cost (micro-dollars, 0: unknown)   ARGV[6..9] expiry (epoch ms) of the day hash, the
  minute hash, the day spend and the month spend
]]
local prompt = tonumber(ARGV[3])
local completion = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local function count(key, field)
  redis.call('HINCRBY', key, field .. '|r', 1)
  redis.call('HINCRBY', key, field .. '|p', prompt)
  redis.call('HINCRBY', key, field .. '|c', completion)
  if cost > 0 then redis.call('HINCRBY', key, field .. '|u', cost) end
end
count(KEYS[1], ARGV[1])
count(KEYS[2], ARGV[1])
count(KEYS[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
redis.call('PEXPIREAT', KEYS[2], ARGV[7])
redis.call('INCRBY', KEYS[4], cost)
redis.call('PEXPIREAT', KEYS[4], ARGV[8])
redis.call('INCRBY', KEYS[5], cost)
redis.call('PEXPIREAT', KEYS[5], ARGV[9])
return 1
