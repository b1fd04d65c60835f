-- Turn popped raw items into job records held by the worker, atomically per item.
-- Keys touched (prefix p = ARGV[1]): p..rawinflight:{worker} (hash), p..rawworkers (set),
--   p..job:{id} (hash), p..inflight:{worker} (zset), p..queues (set).
-- ARGV: prefix, worker, now, then per job: id, tracked ('1': the item must still be in
--   the worker's raw-inflight hash), start ('1': status started, held by the worker;
--   '0': a record only, e.g. a failed job_factory call), queue, ttl (0 = keep),
--   nfields, field, value, ...
-- A tracked item that is no longer in the raw-inflight hash was given back by
-- requeue_lost_raw_items (this worker looked dead): it is skipped, so it runs once.
-- The raw-inflight entry is deleted in the same step the record is written: the
-- item is released exactly when its job exists.
-- Returns the ids of the records written.
local p, worker, now = ARGV[1], ARGV[2], ARGV[3]
local rawinflight = p .. 'rawinflight:' .. worker
local inflight = p .. 'inflight:' .. worker
local out = {}
local i = 4
while i <= #ARGV do
  local id, tracked, start, queue = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local ttl, nfields = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  if tracked ~= '1' or redis.call('HDEL', rawinflight, id) == 1 then
    local jobkey = p .. 'job:' .. id
    local fields = {'queue', queue, 'datequeued', now, 'dateupdated', now}
    for f = 1, nfields * 2 do
      fields[#fields + 1] = ARGV[i + 5 + f]
    end
    redis.call('HSET', jobkey, unpack(fields))
    if start == '1' then
      redis.call('HSET', jobkey, 'status', 'started', 'worker', worker, 'datestarted', now)
      redis.call('ZADD', inflight, now, id)
    end
    if ttl > 0 then redis.call('EXPIRE', jobkey, ttl) end
    redis.call('SADD', p .. 'queues', queue)
    out[#out + 1] = id
  end
  i = i + 6 + nfields * 2
end
if redis.call('EXISTS', rawinflight) == 0 then
  redis.call('SREM', p .. 'rawworkers', worker)
end
return out
