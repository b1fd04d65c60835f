-- Drop ids from the scheduled set whose job record no longer exists (it expired).
-- Keys touched (prefix p = ARGV[1]): p..scheduled (zset), p..job:{id} (hashes, read only).
-- ARGV: prefix, then job ids.
-- Checking each record and removing its id in one script means an id whose record
-- an enqueue re-creates meanwhile is never dropped.
-- Returns the number of ids removed.
local p = ARGV[1]
local removed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', p .. 'job:' .. id) == 0 then
    removed = removed + redis.call('ZREM', p .. 'scheduled', id)
  end
end
return removed
