-- Record how a batch of jobs held by one worker ended, release them, wake waiters.
-- Keys touched (prefix p = ARGV[1]): p..job:{id} (hash), p..joblog:{id} (list),
--   p..scheduled (zset, retries), p..interrupted (zset), p..inflight:{worker} (zset),
--   p..jobidx:{status} (zset, the dashboard's per-status index);
--   publishes on p..done:{id}.
-- ARGV: prefix, worker id, now, then per job:
--   id, status, ttl (0 = keep), due ('' = none; else park in scheduled), nfields,
--   field, value, ..., nlines, line, ...
-- Each done:{id} message is the status, or 'success\n' + the JSON result when it is small.
-- One call replaces four to six commands per job; it is atomic like the MULTI it replaces.
local p, worker, now = ARGV[1], ARGV[2], ARGV[3]
local inflight = p .. 'inflight:' .. worker
local i = 4
local n = 0
while i <= #ARGV do
  local id, status, ttl, due = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local nfields = tonumber(ARGV[i + 4])
  local jobkey = p .. 'job:' .. id
  local fields = {}
  for f = 1, nfields * 2 do
    fields[f] = ARGV[i + 4 + f]
  end
  redis.call('HSET', jobkey, unpack(fields))
  i = i + 5 + nfields * 2
  local nlines = tonumber(ARGV[i])
  local logkey = p .. 'joblog:' .. id
  if nlines > 0 then
    local lines = {}
    for l = 1, nlines do
      lines[l] = ARGV[i + l]
    end
    redis.call('RPUSH', logkey, unpack(lines))
  end
  i = i + 1 + nlines
  if due ~= '' then
    redis.call('ZADD', p .. 'scheduled', due, id)
  end
  if ttl > 0 then
    redis.call('EXPIRE', jobkey, ttl)
    if nlines > 0 then redis.call('EXPIRE', logkey, ttl) end
  end
  if status == 'interrupt' then
    -- Indexed so lost-job recovery (mrqcore.maintenance) finds and requeues it.
    redis.call('ZADD', p .. 'interrupted', now, id)
  end
  redis.call('ZREM', inflight, id)
  redis.call('ZADD', p .. 'jobidx:' .. status, now, id)
  -- Waiters get a small success result in the message itself: one round trip less.
  local notice = status
  if status == 'success' then
    for f = 1, #fields, 2 do
      if fields[f] == 'result' and #fields[f + 1] <= 4096 then
        notice = status .. '\n' .. fields[f + 1]
      end
    end
  end
  redis.call('PUBLISH', p .. 'done:' .. id, notice)
  n = n + 1
end
return n
