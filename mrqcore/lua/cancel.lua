-- Cancel one job. A queued or waiting (retry, countdown) job leaves its queue and
-- will never run. A started job is only marked: it is not interrupted (MRQ's
-- rule), and the worker records how it really ended.
-- Keys touched (prefix p = ARGV[1]): p..job:{id}, p..joblog:{id}, p..q:{queue} (or
--   p..qpri:{step}:{queue} for a record with a priority step),
--   p..scheduled, p..jobidx:retry, p..jobidx:cancel; publishes on p..done:{id}.
-- ARGV: prefix, id, now, ttl (0 = keep).
-- Returns the status the job had before, or false if there is no such job.
local p, id, now, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local jobkey = p .. 'job:' .. id
local status = redis.call('HGET', jobkey, 'status')
if not status then return false end
if status == 'queued' or status == 'retry' then
  local queue, step = unpack(redis.call('HMGET', jobkey, 'queue', 'priority'))
  local qkey = p .. 'q:' .. queue
  if step and step ~= '' and step ~= '0' then qkey = p .. 'qpri:' .. step .. ':' .. queue end
  redis.call('LREM', qkey, 1, id)
  redis.call('ZREM', p .. 'scheduled', id)
  redis.call('HSET', jobkey, 'status', 'cancel', 'datedone', now, 'dateupdated', now)
  redis.call('ZREM', p .. 'jobidx:retry', id)
  redis.call('ZADD', p .. 'jobidx:cancel', now, id)
  if ttl > 0 then
    redis.call('EXPIRE', jobkey, ttl)
    redis.call('EXPIRE', p .. 'joblog:' .. id, ttl)
  end
  redis.call('PUBLISH', p .. 'done:' .. id, 'cancel')
elseif status == 'started' then
  redis.call('HSET', jobkey, 'cancel_requested', now, 'dateupdated', now)
end
return status
