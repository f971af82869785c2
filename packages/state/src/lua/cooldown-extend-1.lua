--[[
  Starts or extends a provider's fleet-wide 429 cooldown until `until` (never shortens one), with
  the key expiring at that moment, and publishes an event when a cooldown starts.

  KEYS[1] cooldown string (epoch ms)
  ARGV[1] now ms   ARGV[2] until ms   ARGV[3] events channel   ARGV[4] provider

  Returns the cooldown's end in epoch ms.
]]
--- @include "publish"

local now = tonumber(ARGV[1])
local untilMs = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]))
if current ~= nil and current >= untilMs then return current end
if untilMs <= now then return current or 0 end

redis.call('SET', KEYS[1], untilMs, 'PX', untilMs - now)
if current == nil or current <= now then
  publishEvent(ARGV[3], { type = 'cooldown', provider = ARGV[4], ['until'] = untilMs, at = now })
end
return untilMs
