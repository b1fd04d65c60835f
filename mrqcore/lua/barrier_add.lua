-- Record one part of a barrier (N parts that must all arrive); say whether all are in.
-- Keys touched (prefix p = ARGV[1]): p..{barrier} (hash part index -> value; the
--   barrier name is chosen by the caller, e.g. 'celery:chord:{group id}').
-- ARGV: prefix, barrier name, part index, value, size, ttl (0 = keep).
-- HSETNX: a part recorded twice (a job re-run after a lost worker) counts once.
-- Returns the whole hash (flat list) when it holds `size` parts after this call, else
-- false. More than one caller may see it complete (a re-run part): what follows the
-- barrier must itself happen once (hold_release.lua's guard does that).
local p, name, index, value, size, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local key = p .. name
redis.call('HSETNX', key, index, value)
if ttl > 0 then redis.call('EXPIRE', key, ttl) end
if redis.call('HLEN', key) >= size then
  return redis.call('HGETALL', key)
end
return false
