-- Publishes one state-change event (a flat table) as JSON; an empty channel turns events off.
local function publishEvent(channel, event)
  if channel ~= '' then
    redis.call('PUBLISH', channel, cjson.encode(event))
  end
end
