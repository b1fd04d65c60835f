-- List interrupted jobs for recovery to requeue, pruning ids that no longer need it.
-- Keys touched (prefix p = ARGV[1]): p..interrupted (zset, written by the worker's finish
--   MULTI with status 'interrupt'), p..job:{id} (hashes, read only).
-- ARGV: prefix, limit.
-- An id stays in the index while its record's status is 'interrupt'; requeue.lua does not
-- touch the index, so the next pass prunes the id once the job has moved on (queued,
-- started, done, expired). Checking the status and removing the id in one script means
-- an id that a new interruption re-added is never dropped.
-- Returns a flat list: id1, worker1, id2, worker2, ... of the records still 'interrupt'.
local p, limit = ARGV[1], tonumber(ARGV[2])
local index = p .. 'interrupted'
local ids = redis.call('ZRANGE', index, 0, limit - 1)
local out = {}
for _, id in ipairs(ids) do
  local rec = redis.call('HMGET', p .. 'job:' .. id, 'status', 'worker')
  if rec[1] == 'interrupt' then
    out[#out + 1] = id
    out[#out + 1] = rec[2] or ''
  else
    redis.call('ZREM', index, id)
  end
end
return out
