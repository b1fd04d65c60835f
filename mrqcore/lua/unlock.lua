-- Release a maintenance lock only if the caller's token still holds it.
-- Keys touched (prefix p = ARGV[1]): p..lock:{name} (string).
-- ARGV: prefix, name, token.
-- A lock that expired and was taken by someone else is left alone.
-- Returns 1 if the lock was released, 0 otherwise.
local key = ARGV[1] .. 'lock:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then
  return redis.call('DEL', key)
end
return 0
