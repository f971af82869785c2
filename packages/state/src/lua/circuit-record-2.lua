--[[
  Records one call outcome that counts toward the circuit breaker (a success, or a failure whose
  class counts) and makes any transition it causes, atomically, so concurrent reporters never lose
  a count and the circuit opens exactly once, at exactly the threshold.

  closed:    success resets consecutive_failures; a failure increments it and opens the circuit at
             the threshold. The first failure of a streak and the reset publish an event. With a failure rate set, a sliding window of buckets also opens it
             once it holds at least min_calls calls and the failure ratio reaches the rate.
  half_open: only the outcome carrying the current lease id counts: success closes, failure
             re-opens with a grown reset time (capped).
  open, or half_open without the lease: the outcome is late (the call started before the trip)
             and changes nothing; the probe alone decides.

  KEYS[1] circuit hash      KEYS[2] failure-rate window hash
  ARGV[1] now ms            ARGV[2] 'success' | 'failure'   ARGV[3] probe lease id or ''
  ARGV[4] threshold         ARGV[5] base reset ms           ARGV[6] max reset ms
  ARGV[7] reset multiplier  ARGV[8] failure rate (0 = off)  ARGV[9] window ms
  ARGV[10] min calls        ARGV[11] events channel         ARGV[12] provider
  ARGV[13] error class ('' for success)

  Returns {state, consecutive_failures, transitioned (0|1)}.
]]
--- @include "publish"

local now = tonumber(ARGV[1])
local success = ARGV[2] == 'success'
local leaseId = ARGV[3]
local threshold = tonumber(ARGV[4])
local baseReset = tonumber(ARGV[5])
local maxReset = tonumber(ARGV[6])
local multiplier = tonumber(ARGV[7])
local rate = tonumber(ARGV[8])
local windowMs = tonumber(ARGV[9])
local minCalls = tonumber(ARGV[10])
local channel = ARGV[11]
local provider = ARGV[12]
local errorClass = ARGV[13]

local c = redis.call('HMGET', KEYS[1], 'state', 'consecutive_failures', 'lease_id', 'reset_ms')
local state = c[1]
if state ~= 'open' and state ~= 'half_open' then state = 'closed' end
local failures = tonumber(c[2]) or 0

local function event(to, reason, fields)
  local e = {
    type = 'circuit', provider = provider, from = state, to = to, reason = reason,
    consecutive_failures = failures, at = now,
  }
  if errorClass ~= '' then e.error_class = errorClass end
  for k, v in pairs(fields) do e[k] = v end
  publishEvent(channel, e)
end

local function open(reason, resetMs)
  local nextProbeAt = now + resetMs
  redis.call('HSET', KEYS[1], 'state', 'open', 'consecutive_failures', failures, 'opened_at', now,
    'next_probe_at', nextProbeAt, 'reset_ms', resetMs, 'lease_id', '', 'lease_until', 0, 'updated_at', now)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  redis.call('DEL', KEYS[2])
  event('open', reason, { opened_at = now, next_probe_at = nextProbeAt })
  return {'open', failures, 1}
end

-- The half-open probe's own outcome decides the circuit.
if state == 'half_open' and leaseId ~= '' and leaseId == c[3] then
  if success then
    failures = 0
    redis.call('HSET', KEYS[1], 'state', 'closed', 'consecutive_failures', 0, 'opened_at', '',
      'next_probe_at', '', 'reset_ms', baseReset, 'lease_id', '', 'lease_until', 0, 'updated_at', now)
    redis.call('DEL', KEYS[2])
    event('closed', 'probe_succeeded', {})
    return {'closed', 0, 1}
  end
  failures = failures + 1
  local grown = math.min(math.floor((tonumber(c[4]) or baseReset) * multiplier), maxReset)
  return open('probe_failed', math.max(grown, baseReset))
end

if state ~= 'closed' then return {state, failures, 0} end

-- The first counted failure of a streak and the success that ends one are published too (closed
-- to closed): workers keep a view of which providers are clean, and skip writing successes to a
-- counter that is already 0 only while nobody has said otherwise.
if success then
  if failures > 0 then
    failures = 0
    redis.call('HSET', KEYS[1], 'consecutive_failures', 0, 'updated_at', now)
    event('closed', 'failures_reset', {})
  end
else
  failures = redis.call('HINCRBY', KEYS[1], 'consecutive_failures', 1)
  if failures >= threshold then return open('consecutive_failures', baseReset) end
  if failures == 1 then event('closed', 'failure_counted', {}) end
end

if rate > 0 then
  -- Ten buckets per window: the window slides in tenths, and the hash stays ~20 fields.
  local bucketMs = math.max(1, math.floor(windowMs / 10))
  local bucket = math.floor(now / bucketMs)
  redis.call('HINCRBY', KEYS[2], bucket .. ':c', 1)
  if not success then redis.call('HINCRBY', KEYS[2], bucket .. ':f', 1) end
  redis.call('PEXPIRE', KEYS[2], windowMs + bucketMs)
  local calls, failed = 0, 0
  local fields = redis.call('HGETALL', KEYS[2])
  for i = 1, #fields, 2 do
    local b, kind = string.match(fields[i], '^(%d+):(%a)$')
    b = tonumber(b)
    if b == nil or b <= bucket - 10 then
      redis.call('HDEL', KEYS[2], fields[i])
    elseif kind == 'c' then
      calls = calls + tonumber(fields[i + 1])
    else
      failed = failed + tonumber(fields[i + 1])
    end
  end
  if calls >= minCalls and failed / calls >= rate then
    return open('failure_rate', baseReset)
  end
end

return {state, failures, 0}
