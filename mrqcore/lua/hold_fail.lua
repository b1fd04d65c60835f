-- End a held job that will never run (the job it waited for failed), exactly once:
-- only a job still held in the scheduled zset is touched, and waiters are woken.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset; held entries score >= hold min),
--   p..job:{id} (hash), p..jobidx:{status} (zset); publishes on p..done:{id}.
-- ARGV: prefix, id, now, hold min score, ttl (0 = keep), status, nfields, field, value, ...
-- Returns 1 if this call ended the job, 0 otherwise (not held).
local p, id, now, hold_min = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ttl, status, nfields = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local score = redis.call('ZSCORE', p .. 'scheduled', id)
if not score or tonumber(score) < hold_min then return 0 end
local jobkey = p .. 'job:' .. id
if redis.call('HGET', jobkey, 'status') ~= 'queued' then return 0 end
redis.call('ZREM', p .. 'scheduled', id)
local fields = {'status', status, 'datedone', now, 'dateupdated', now}
for f = 1, nfields * 2 do
  fields[#fields + 1] = ARGV[7 + f]
end
redis.call('HSET', jobkey, unpack(fields))
if ttl > 0 then
  redis.call('EXPIRE', jobkey, ttl)
  redis.call('EXPIRE', p .. 'joblog:' .. id, ttl)
end
redis.call('ZADD', p .. 'jobidx:' .. status, now, id)
redis.call('PUBLISH', p .. 'done:' .. id, status)
return 1
