--[[
  Widens a metrics hash's observed latency range to take in [min, max] (ms), so quantiles can be
  clamped to it. Compare-and-set in one script: a check in the process and a later HSET could
  overwrite a smaller minimum another worker wrote in between. A stored value that is not a number
  is replaced.

  KEYS[1] metrics hash   ARGV[1] min ms   ARGV[2] max ms
]]
local lo = tonumber(ARGV[1])
local hi = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'lat_min', 'lat_max')
local storedLo = tonumber(stored[1])
local storedHi = tonumber(stored[2])
if storedLo == nil or lo < storedLo then redis.call('HSET', KEYS[1], 'lat_min', ARGV[1]) end
if storedHi == nil or hi > storedHi then redis.call('HSET', KEYS[1], 'lat_max', ARGV[2]) end
return 1
