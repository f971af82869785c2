--[[
  Adds one finished job's cost to its client's spend for the UTC day and the month, which the
  budget check (budget-check-2.lua) reads. Written as the job ends, before it is seen complete, so
  a client that reads its answer and sends the next request finds it counted.

  KEYS[1] day spend   KEYS[2] month spend
  ARGV[1] cost (micro-dollars)   ARGV[2] expiry (epoch ms) of the day spend   ARGV[3] of the month spend
]]
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
return 1
