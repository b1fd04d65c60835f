-- Release a parked job (a chain step or chord body waiting for its parent) onto its
-- queue, exactly once: the ZREM from the scheduled zset is the guard, so two callers
-- releasing the same job at the same instant queue it once.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset), p..job:{id} (hash),
--   p..q:{queue} (list); publishes on p..notify.
-- ARGV: prefix, id, now, min parked score, params JSON ('' = keep), meta JSON ('' = keep).
-- Returns 1 if this call released the job, 0 otherwise (not parked: already released,
-- cancelled/revoked, or unknown).
local p, id, now, parked_min = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local score = redis.call('ZSCORE', p .. 'scheduled', id)
if not score or tonumber(score) < parked_min then return 0 end
local jobkey = p .. 'job:' .. id
if redis.call('HGET', jobkey, 'status') ~= 'queued' then return 0 end
redis.call('ZREM', p .. 'scheduled', id)
if ARGV[5] ~= '' then redis.call('HSET', jobkey, 'params', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', jobkey, 'meta', ARGV[6]) end
redis.call('HSET', jobkey, 'datequeued', now, 'dateupdated', now)
local queue = redis.call('HGET', jobkey, 'queue')
redis.call('RPUSH', p .. 'q:' .. queue, id)
redis.call('PUBLISH', p .. 'notify', 1)
return 1
