-- Hand up to `count` queued jobs to one worker, atomically.
-- Keys touched (prefix p = ARGV[1]): p..q:{queue} (lists, in priority order),
--   p..paused (set), p..job:{id} (hashes), p..inflight:{worker} (zset).
-- ARGV: prefix, worker id, now, count, queue names in priority order...
-- Each id leaves its queue list and enters the worker's inflight zset in the same
-- script, so a job is never in two workers' hands nor in nobody's: if the worker
-- dies, lost-job recovery finds the id in its inflight set.
-- Ids whose record is not 'queued' (cancelled, or expired) are dropped from the list.
-- Returns a flat list: id1, {hgetall of id1}, id2, {...}, ...
local p, worker, now, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local inflight = p .. 'inflight:' .. worker
local out = {}
local got = 0
for q = 5, #ARGV do
  if got >= count then break end
  local queue = ARGV[q]
  if redis.call('SISMEMBER', p .. 'paused', queue) == 0 then
    local qkey = p .. 'q:' .. queue
    while got < count do
      local ids = redis.call('LPOP', qkey, count - got)
      if not ids then break end
      for _, id in ipairs(ids) do
        local jobkey = p .. 'job:' .. id
        if redis.call('HGET', jobkey, 'status') == 'queued' then
          redis.call('ZADD', inflight, now, id)
          redis.call('HSET', jobkey, 'status', 'started', 'worker', worker,
                     'datestarted', now, 'dateupdated', now)
          out[#out + 1] = id
          out[#out + 1] = redis.call('HGETALL', jobkey)
          got = got + 1
        end
      end
    end
  end
end
return out
