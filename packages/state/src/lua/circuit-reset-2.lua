--[[
  Operator reset: closes a provider's circuit at once, whatever its state, and clears its
  failure-rate window. For runbooks and tests; traffic never calls it.

  KEYS[1] circuit hash   KEYS[2] failure-rate window hash
  ARGV[1] now ms   ARGV[2] base reset ms   ARGV[3] events channel   ARGV[4] provider

  Returns the previous state.
]]
--- @include "publish"

local previous = redis.call('HGET', KEYS[1], 'state')
if previous ~= 'open' and previous ~= 'half_open' then previous = 'closed' end
redis.call('HSET', KEYS[1], 'state', 'closed', 'consecutive_failures', 0, 'opened_at', '', 'next_probe_at', '',
  'reset_ms', ARGV[2], 'lease_id', '', 'lease_until', 0, 'updated_at', ARGV[1])
redis.call('DEL', KEYS[2])
if previous ~= 'closed' then
  publishEvent(ARGV[3], {
    type = 'circuit', provider = ARGV[4], from = previous, to = 'closed', reason = 'manual_reset',
    consecutive_failures = 0, at = tonumber(ARGV[1]),
  })
end
return previous
