-- Put one finished (or lost) job back on a queue, keeping its history.
-- Keys touched (prefix p = ARGV[1]): p..job:{id}, p..joblog:{id}, p..q:{queue} (or, for a
--   record with a priority step, p..qpri:{step}:{queue} and p..qpris:{queue}),
--   p..scheduled, p..queues, p..inflight:{worker}, p..jobidx, p..jobidx:{old status};
--   publishes on p..notify.
-- ARGV: prefix, id, now, queue ('' = keep), force ('1' also takes a started job:
--   lost-job recovery), note (appended to the record's requeue history, may be '').
-- Returns the previous status, or false if there is no such job or it is already queued.
local p, id, now, queue, force, note = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- A job's list: p..q:{queue}, or p..qpri:{step}:{queue} for a priority step > 0 (the step is
-- then added to p..qpris:{queue}, which dequeue reads).
local function list_key(queue, step)
  if step and step ~= '' and step ~= '0' then
    redis.call('SADD', p .. 'qpris:' .. queue, step)
    return p .. 'qpri:' .. step .. ':' .. queue
  end
  return p .. 'q:' .. queue
end
local jobkey = p .. 'job:' .. id
local status = redis.call('HGET', jobkey, 'status')
if not status or status == 'queued' then return false end
if status == 'started' and force ~= '1' then return false end
if queue == '' then queue = redis.call('HGET', jobkey, 'queue') end
local worker = redis.call('HGET', jobkey, 'worker')
if worker then redis.call('ZREM', p .. 'inflight:' .. worker, id) end
redis.call('ZREM', p .. 'scheduled', id)
redis.call('PERSIST', jobkey)
redis.call('PERSIST', p .. 'joblog:' .. id)
redis.call('HSET', jobkey, 'status', 'queued', 'queue', queue, 'datequeued', now, 'dateupdated', now)
redis.call('HDEL', jobkey, 'datedone', 'cancel_requested')
if note ~= '' then
  local hist = redis.call('HGET', jobkey, 'requeue_history')
  local entry = '{"date":' .. now .. ',"from_status":"' .. status .. '","note":' .. cjson.encode(note) .. '}'
  if hist and hist ~= '[]' then
    hist = string.sub(hist, 1, -2) .. ',' .. entry .. ']'
  else
    hist = '[' .. entry .. ']'
  end
  redis.call('HSET', jobkey, 'requeue_history', hist)
end
redis.call('ZREM', p .. 'jobidx:' .. status, id)
redis.call('ZADD', p .. 'jobidx', now, id)
redis.call('RPUSH', list_key(queue, redis.call('HGET', jobkey, 'priority')), id)
redis.call('SADD', p .. 'queues', queue)
redis.call('PUBLISH', p .. 'notify', 1)
return status
