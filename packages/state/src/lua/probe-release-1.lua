--[[
  Hands a half-open probe lease back unused: its holder aborted the probe (a hedge winner, the job
  budget, a cancel, shutdown) or never made the call. An aborted call says nothing about the
  provider, so the circuit stays half-open and the very next admission may probe, instead of the
  whole fleet waiting out the lease. Only the current holder's id releases it.

  KEYS[1] circuit hash
  ARGV[1] now ms    ARGV[2] lease id    ARGV[3] events channel    ARGV[4] provider

  Returns 1 when released, 0 when the lease was no longer current (expired, re-granted, decided).
]]
--- @include "publish"

local leaseId = ARGV[2]
local c = redis.call('HMGET', KEYS[1], 'state', 'lease_id', 'consecutive_failures')
if leaseId == '' or c[1] ~= 'half_open' or c[2] ~= leaseId then return 0 end

local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'lease_id', '', 'lease_until', 0, 'updated_at', now)
publishEvent(ARGV[3], {
  type = 'circuit',
  provider = ARGV[4],
  from = 'half_open',
  to = 'half_open',
  reason = 'probe_released',
  consecutive_failures = tonumber(c[3]) or 0,
  at = now,
})
return 1
