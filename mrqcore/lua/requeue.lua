-- Put one finished (or lost) job back on a queue, keeping its history.
-- Keys touched (prefix p = ARGV[1]): p..job:{id}, p..joblog:{id}, p..q:{queue},
--   p..scheduled, p..queues, p..inflight:{worker}, p..jobidx, p..jobidx:{old status};
--   publishes on p..notify.
-- ARGV: prefix, id, now, queue ('' = keep), force ('1' also takes a started job:
--   lost-job recovery), note (appended to the record's requeue history, may be '').
-- Returns the previous status, or false if there is no such job or it is already queued.
local p, id, now, queue, force, note = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
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
redis.call('RPUSH', p .. 'q:' .. queue, id)
redis.call('SADD', p .. 'queues', queue)
redis.call('PUBLISH', p .. 'notify', 1)
return status
