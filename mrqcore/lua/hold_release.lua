-- Queue a held job (a job waiting for another job, not for a time) exactly once.
-- The ZREM from the scheduled zset is the guard: two callers releasing the same job
-- at the same instant queue it once.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset; held entries score >= hold min),
--   p..job:{id} (hash), p..q:{queue} (list) or, for a record with a priority step,
--   p..qpri:{step}:{queue} (list) and p..qpris:{queue} (set); publishes on p..notify.
-- ARGV: prefix, id, now, hold min score, nfields, field, value, ... (set on the record).
-- Returns 1 if this call queued the job, 0 otherwise (not held: already released,
-- cancelled, or unknown).
local p, id, now, hold_min, nfields = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
-- A job's list: p..q:{queue}, or p..qpri:{step}:{queue} for a priority step > 0 (the step is
-- then added to p..qpris:{queue}, which dequeue reads).
local function list_key(queue, step)
  if step and step ~= '' and step ~= '0' then
    redis.call('SADD', p .. 'qpris:' .. queue, step)
    return p .. 'qpri:' .. step .. ':' .. queue
  end
  return p .. 'q:' .. queue
end
local score = redis.call('ZSCORE', p .. 'scheduled', id)
if not score or tonumber(score) < hold_min then return 0 end
local jobkey = p .. 'job:' .. id
if redis.call('HGET', jobkey, 'status') ~= 'queued' then return 0 end
redis.call('ZREM', p .. 'scheduled', id)
local fields = {'datequeued', now, 'dateupdated', now}
for f = 1, nfields * 2 do
  fields[#fields + 1] = ARGV[5 + f]
end
redis.call('HSET', jobkey, unpack(fields))
local queue, step = unpack(redis.call('HMGET', jobkey, 'queue', 'priority'))
redis.call('RPUSH', list_key(queue, step), id)
redis.call('PUBLISH', p .. 'notify', 1)
return 1
