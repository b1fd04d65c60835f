-- Admit dequeued jobs under their task's max_concurrency, or put them back queued.
-- Keys touched (prefix p = ARGV[1]): p..running:{path} (zset of job ids, scored by
--   start time), p..job:{id} (hash), p..inflight:{worker} (zset), p..q:{queue} (list) or
--   p..qpri:{step}:{queue} (list) and p..qpris:{queue} (set) for a record with a priority step,
--   p..workers (zset, read only).
-- ARGV: prefix, worker, now, lost_after (seconds), then per job: id, path, limit, queue.
-- When a task's set is full, entries that no longer hold a slot are dropped first:
-- a job whose record is not 'started' (finished, requeued, expired) or whose worker
-- has not sent a heartbeat for lost_after seconds. So a crashed worker's slots free
-- themselves without a separate cleaner.
-- A job over the limit leaves the worker's inflight set and goes back to the *tail*
-- of its queue with status 'queued' (the datestarted/worker set by dequeue are
-- removed), so jobs behind it are not starved. No notify is published for it:
-- that would wake idle workers only to find the same full slots.
-- Returns one flag per job: 1 admitted, 0 put back.
local p, worker, now, lost_after = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local inflight = p .. 'inflight:' .. worker
local flags = {}
-- A job's list: p..q:{queue}, or p..qpri:{step}:{queue} for a priority step > 0 (the step is
-- then added to p..qpris:{queue}, which dequeue reads).
local function list_key(queue, step)
  if step and step ~= '' and step ~= '0' then
    redis.call('SADD', p .. 'qpris:' .. queue, step)
    return p .. 'qpri:' .. step .. ':' .. queue
  end
  return p .. 'q:' .. queue
end
local function holds_slot(id)
  local jobkey = p .. 'job:' .. id
  if redis.call('HGET', jobkey, 'status') ~= 'started' then return false end
  local owner = redis.call('HGET', jobkey, 'worker')
  if not owner then return false end
  local beat = redis.call('ZSCORE', p .. 'workers', owner)
  if owner == worker then return true end
  return beat ~= false and tonumber(beat) >= now - lost_after
end
for i = 5, #ARGV, 4 do
  local id, path, limit, queue = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local key = p .. 'running:' .. path
  if redis.call('ZCARD', key) >= limit then
    for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      if member ~= id and not holds_slot(member) then redis.call('ZREM', key, member) end
    end
  end
  if redis.call('ZSCORE', key, id) or redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now, id)
    flags[#flags + 1] = 1
  else
    local jobkey = p .. 'job:' .. id
    redis.call('ZREM', inflight, id)
    redis.call('HSET', jobkey, 'status', 'queued', 'dateupdated', ARGV[3])
    redis.call('HDEL', jobkey, 'worker', 'datestarted')
    redis.call('RPUSH', list_key(queue, redis.call('HGET', jobkey, 'priority')), id)
    flags[#flags + 1] = 0
  end
end
return flags
