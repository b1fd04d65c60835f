-- End a parked job (a chain step or chord body) that will never run because its parent
-- failed: it gets the parent's failure, as Celery marks the rest of a failed chain.
-- Exactly once: only a job still parked in the scheduled zset is touched.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset), p..job:{id} (hash);
--   publishes on p..done:{id}.
-- ARGV: prefix, id, now, min parked score, ttl (0 = keep), status, then field, value pairs.
-- Returns 1 if this call ended the job, 0 otherwise.
local p, id, now, parked_min, ttl, status = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local score = redis.call('ZSCORE', p .. 'scheduled', id)
if not score or tonumber(score) < parked_min then return 0 end
local jobkey = p .. 'job:' .. id
if redis.call('HGET', jobkey, 'status') ~= 'queued' then return 0 end
redis.call('ZREM', p .. 'scheduled', id)
redis.call('HSET', jobkey, 'status', status, 'datedone', now, 'dateupdated', now)
for i = 7, #ARGV, 2 do
  redis.call('HSET', jobkey, ARGV[i], ARGV[i + 1])
end
if ttl > 0 then redis.call('EXPIRE', jobkey, ttl) end
redis.call('PUBLISH', p .. 'done:' .. id, status)
return 1
