-- Move jobs whose time has come (retry delay, countdown, ETA) from the scheduled
-- zset onto their queue. Any worker may run it; the script is atomic, so each
-- job is moved exactly once however many workers call it at the same moment.
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset), p..job:{id} (hash),
--   p..q:{queue} (list); publishes on p..notify.
-- ARGV: prefix, now, limit.
-- Returns {moved count, score of the next due job or -1}.
local p, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', p .. 'scheduled', '-inf', now, 'LIMIT', 0, limit)
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', p .. 'scheduled', id)
  local jobkey = p .. 'job:' .. id
  local status = redis.call('HGET', jobkey, 'status')
  if status == 'queued' or status == 'retry' then
    local queue = redis.call('HGET', jobkey, 'queue')
    redis.call('HSET', jobkey, 'status', 'queued', 'dateupdated', ARGV[2])
    redis.call('RPUSH', p .. 'q:' .. queue, id)
    moved = moved + 1
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
