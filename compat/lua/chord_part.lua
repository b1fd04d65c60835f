-- Record the result of one chord header task; say whether every part is now in.
-- Keys touched (prefix p = ARGV[1]): p..celery:chord:{group id} (hash index -> result JSON).
-- ARGV: prefix, group id, header index, result JSON, header size, ttl (0 = keep).
-- HSETNX: a header task that runs twice (requeued after a lost worker) counts once.
-- Returns the whole hash (flat list) when it holds `size` results after this call,
-- else false. More than one caller may see it complete (a re-run part); the body is
-- released exactly once by release.lua's guard.
local p, gid, index, result, size, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local key = p .. 'celery:chord:' .. gid
redis.call('HSETNX', key, index, result)
if ttl > 0 then redis.call('EXPIRE', key, ttl) end
if redis.call('HLEN', key) >= size then
  return redis.call('HGETALL', key)
end
return false
