-- Queue a batch of jobs atomically.
-- Keys touched (prefix p = ARGV[1]): p..job:{id} (hash), p..q:{queue} (list),
--   p..qpri:{step}:{queue} (list) and p..qpris:{queue} (set) for a job whose fields give
--   a priority step > 0, p..scheduled (zset), p..queues (set), p..jobidx (zset);
--   publishes on p..notify.
-- ARGV: prefix, now, then per job: id, queue, due (0 = run now), nfields, field, value, ...
-- A job whose id already has a record, in any status, is skipped: a caller-chosen id is
-- queued at most once while its record exists (until the record's TTL), so re-sending
-- the same id (a retry after an ambiguous timeout) never runs a job twice. Returns the
-- skipped ids.
local p = ARGV[1]
local now = ARGV[2]
local i = 3
local skipped = {}
local queued_now = 0
local seen_queues = {}
-- A job's list: p..q:{queue}, or p..qpri:{step}:{queue} for a priority step > 0 (the step is
-- then added to p..qpris:{queue}, which dequeue reads).
local function list_key(queue, step)
  if step and step ~= '' and step ~= '0' then
    redis.call('SADD', p .. 'qpris:' .. queue, step)
    return p .. 'qpri:' .. step .. ':' .. queue
  end
  return p .. 'q:' .. queue
end
while i <= #ARGV do
  local id, queue, due, nfields = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local jobkey = p .. 'job:' .. id
  if redis.call('EXISTS', jobkey) == 1 then
    table.insert(skipped, id)
  else
    -- The dashboard's job list reads this index instead of scanning records (O(log N) here).
    redis.call('ZADD', p .. 'jobidx', now, id)
    local fields = {'status', 'queued', 'queue', queue, 'datequeued', now, 'dateupdated', now}
    local step = nil
    for f = 1, nfields * 2 do
      fields[#fields + 1] = ARGV[i + 3 + f]
      if f % 2 == 0 and ARGV[i + 2 + f] == 'priority' then step = ARGV[i + 3 + f] end
    end
    redis.call('HSET', jobkey, unpack(fields))
    if due > 0 then
      redis.call('ZADD', p .. 'scheduled', due, id)
    else
      redis.call('RPUSH', list_key(queue, step), id)
      queued_now = queued_now + 1
    end
    if not seen_queues[queue] then
      seen_queues[queue] = true
      redis.call('SADD', p .. 'queues', queue)
    end
  end
  i = i + 4 + nfields * 2
end
if queued_now > 0 then
  redis.call('PUBLISH', p .. 'notify', queued_now)
end
return skipped
