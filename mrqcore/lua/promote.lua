-- Move jobs whose time has come (retry delay, countdown, ETA) from the scheduled
-- zset onto their queue. Any worker may run it; the script is atomic, so each
-- job is moved exactly once however many workers call it at the same moment.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset), p..job:{id} (hash),
--   p..q:{queue} (list), p..qpri:{step}:{queue} (list) and p..qpris:{queue} (set) for a
--   record with a priority step; publishes on p..notify; for a bad member:
--   p..quarantine:job:{id} (a record that is not a hash, renamed), p..jobidx:failed (zset),
--   p..done:{id}.
-- ARGV: prefix, now, limit.
-- A member that cannot be promoted never stops the others: a record that is not a
-- hash is set aside (its data kept) and replaced by a failed record; a record with
-- no queue, or whose queue key is not a list, ends 'failed' with the reason.
-- Returns {moved count, score of the next due job or -1}.
local p, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', p .. 'scheduled', '-inf', now, 'LIMIT', 0, limit)
local moved = 0
-- A job's list: p..q:{queue}, or p..qpri:{step}:{queue} for a priority step > 0 (the step is
-- then added to p..qpris:{queue}, which dequeue reads).
local function list_key(queue, step)
  if step and step ~= '' and step ~= '0' then
    redis.call('SADD', p .. 'qpris:' .. queue, step)
    return p .. 'qpri:' .. step .. ':' .. queue
  end
  return p .. 'q:' .. queue
end

local function fail(id, jobkey, reason)
  redis.call('HSET', jobkey, 'status', 'failed', 'exceptiontype', 'mrqcore.exceptions.MalformedJobError',
             'traceback', 'mrqcore.exceptions.MalformedJobError: job ' .. id .. ' could not be queued: ' .. reason,
             'datedone', ARGV[2], 'dateupdated', ARGV[2])
  redis.call('ZADD', p .. 'jobidx:failed', now, id)
  redis.call('PUBLISH', p .. 'done:' .. id, 'failed')
end

for _, id in ipairs(ids) do
  redis.call('ZREM', p .. 'scheduled', id)
  local jobkey = p .. 'job:' .. id
  local status = redis.pcall('HGET', jobkey, 'status')
  if type(status) == 'table' and status['err'] then
    local kind = redis.call('TYPE', jobkey)['ok']
    redis.call('RENAME', jobkey, p .. 'quarantine:job:' .. id)
    fail(id, jobkey, 'its record was a ' .. kind .. ', not a hash; the value was moved to key ' ..
         p .. 'quarantine:job:' .. id)
  elseif status == 'queued' or status == 'retry' then
    local queue, step = unpack(redis.call('HMGET', jobkey, 'queue', 'priority'))
    if not queue then
      fail(id, jobkey, 'its record has no queue field')
    else
      local qkey = list_key(queue, step)
      local pushed = redis.pcall('RPUSH', qkey, id)
      if type(pushed) == 'table' and pushed['err'] then
        fail(id, jobkey, 'queue key ' .. qkey .. ' is not a list (' .. pushed['err'] .. ')')
      else
        redis.call('HSET', jobkey, 'status', 'queued', 'dateupdated', ARGV[2])
        moved = moved + 1
      end
    end
  end
end
if moved > 0 then
  redis.call('PUBLISH', p .. 'notify', moved)
end
local nxt = redis.call('ZRANGE', p .. 'scheduled', 0, 0, 'WITHSCORES')
if nxt[2] then
  return {moved, nxt[2]}
end
return {moved, '-1'}
