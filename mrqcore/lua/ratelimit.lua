-- Count one action against a fixed-window rate limit, atomically.
-- Keys touched (prefix p = ARGV[1]): p..ratelimit:{key}:{window} (string counter,
--   expires after the window).
-- ARGV: prefix, key, limit, per (seconds, may be fractional).
-- The window is floor(server time / per), read from Redis's own clock (TIME), so
-- callers on machines whose clocks disagree still share one window.
-- Returns the actions left in this window *including* this one (limit on the first
-- call of a window, 1 on the limit-th), or 0 once the limit is reached (MRQ's rule).
local p, key, limit, per = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = math.floor(now / per)
local counter = p .. 'ratelimit:' .. key .. ':' .. string.format('%d', window)
local count = redis.call('INCR', counter)
if count == 1 then
  redis.call('PEXPIRE', counter, math.ceil(per * 1000) + 1000)
end
if count > limit then return 0 end
return limit - count + 1
