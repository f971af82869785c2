--[[
  Writes what a worker report or a status probe learned about a provider into its state record,
  and publishes an event when the state changes (not on every call: a busy provider reports
  thousands of successes a second).

  KEYS[1] provider state hash
  ARGV[1] now ms   ARGV[2] source ('report' | 'probe')   ARGV[3] new state
  ARGV[4] error class or ''   ARGV[5] error message (secret-free, short) or ''
  ARGV[6] credits JSON or ''  ARGV[7] latency ms or ''   ARGV[8] events channel   ARGV[9] provider

  Returns the previous state or ''.
]]
--- @include "publish"

local now = ARGV[1]
local source = ARGV[2]
local newState = ARGV[3]
local errorClass = ARGV[4]

local previous = redis.call('HGET', KEYS[1], 'state') or ''
redis.call('HSET', KEYS[1], 'state', newState, 'checked_at', now, 'source', source)
if source == 'probe' then
  redis.call('HSET', KEYS[1], 'probed_at', now)
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'probe_latency_ms', ARGV[7]) end
end
if errorClass ~= '' then
  redis.call('HSET', KEYS[1], 'last_error_class', errorClass, 'last_error_message', ARGV[5], 'last_error_at', now)
end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'credits', ARGV[6]) end

if previous ~= newState then
  local e = {
    type = 'provider_state', provider = ARGV[9], from = (previous ~= '' and previous or 'unknown'),
    to = newState, source = source, at = tonumber(now),
  }
  if errorClass ~= '' then e.error_class = errorClass end
  publishEvent(ARGV[8], e)
end
return previous
