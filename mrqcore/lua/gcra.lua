-- Evenly spaced calls: the generic cell rate algorithm (GCRA), atomically.
-- Keys touched (prefix p = ARGV[1]): p..gcra:{key} (string: the theoretical
--   arrival time (TAT) of the next call, epoch seconds; expires once idle).
-- ARGV: prefix, key, interval (seconds between calls, may be fractional),
--   burst (calls admitted back to back, >= 1).
-- Time is Redis's own clock (TIME), so workers whose clocks disagree share one
-- schedule. A call is admitted when TAT - now <= (burst - 1) * interval; it then
-- moves TAT to max(TAT, now) + interval. A refused call changes nothing.
-- Returns "0" when admitted, else the seconds to wait (a string: Lua numbers
-- become integers on their way out of a script).
local p, key = ARGV[1], ARGV[2]
local interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local name = p .. 'gcra:' .. key
local tat = tonumber(redis.call('GET', name) or '0')
if tat < now then tat = now end
local tolerance = (burst - 1) * interval
local wait = tat - tolerance - now
if wait > 0 then
  return string.format('%.6f', wait)
end
local new_tat = tat + interval
redis.call('SET', name, string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
