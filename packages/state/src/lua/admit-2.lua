--[[
  Admission of one provider call, fleet-wide, in one step: reads the circuit and the 429 cooldown
  and, when an open circuit's reset time has passed or the current probe lease has expired (its
  holder died or hung), grants the single half-open probe lease to this caller.

  KEYS[1] circuit hash      KEYS[2] cooldown string (epoch ms)
  ARGV[1] now ms            ARGV[2] lease id to grant      ARGV[3] lease length ms
  ARGV[4] events channel    ARGV[5] provider

  Returns {1, '', consecutiveFailures} (admitted, circuit closed), {1, leaseId} (admitted as the
  probe) or {0, reason, retryAtMs}.
]]
--- @include "publish"

local now = tonumber(ARGV[1])
local leaseId = ARGV[2]
local leaseMs = tonumber(ARGV[3])
local channel = ARGV[4]
local provider = ARGV[5]

local c = redis.call('HMGET', KEYS[1], 'state', 'next_probe_at', 'lease_until', 'consecutive_failures')
local state = c[1]
local cooldownUntil = tonumber(redis.call('GET', KEYS[2]))
local coolingDown = cooldownUntil ~= nil and cooldownUntil > now

-- A missing or unreadable state is treated as closed: a corrupt record never blocks traffic.
if state ~= 'open' and state ~= 'half_open' then
  if coolingDown then return {0, 'cooldown', cooldownUntil} end
  return {1, '', tonumber(c[4]) or 0}
end

if state == 'open' then
  local nextProbeAt = tonumber(c[2]) or 0
  if now < nextProbeAt then return {0, 'circuit_open', nextProbeAt} end
else
  local leaseUntil = tonumber(c[3]) or 0
  if now < leaseUntil then return {0, 'circuit_open', leaseUntil} end
end

-- The probe is due, but a probe during a 429 cooldown would only be rate limited again.
if coolingDown then return {0, 'cooldown', cooldownUntil} end

local leaseUntil = now + leaseMs
redis.call('HSET', KEYS[1], 'state', 'half_open', 'lease_id', leaseId, 'lease_until', leaseUntil, 'updated_at', now)
redis.call('HINCRBY', KEYS[1], 'probes_granted', 1)
publishEvent(channel, {
  type = 'circuit',
  provider = provider,
  from = state,
  to = 'half_open',
  reason = (state == 'open') and 'reset_elapsed' or 'lease_expired',
  consecutive_failures = tonumber(c[4]) or 0,
  lease_until = leaseUntil,
  at = now,
})
return {1, leaseId}
