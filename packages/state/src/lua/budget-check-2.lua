--[[
  Decides, in one step, whether a client may start another job: its spend so far this UTC month
  and this UTC day (micro-dollars, added by the workers as jobs end) against its caps. Both
  counters are read together, so a check never sees one period's figure from before a write and
  the other's from after it; the month is checked first, because its reset is the later one and
  the retry-after must not promise an earlier one.

  KEYS[1] day spend   KEYS[2] month spend
  ARGV[1] daily cap (micro-dollars, -1: none)   ARGV[2] monthly cap (-1: none)
  Returns { verdict, day spend, month spend }: verdict 0 allowed, 1 daily cap reached, 2 monthly.
]]
local day = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local month = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local dailyCap = tonumber(ARGV[1])
local monthlyCap = tonumber(ARGV[2])
if monthlyCap >= 0 and month >= monthlyCap then return { 2, day, month } end
if dailyCap >= 0 and day >= dailyCap then return { 1, day, month } end
return { 0, day, month }
