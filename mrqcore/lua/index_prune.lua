-- Drop stale entries from one job index (the dashboard's job list), atomically per id.
-- Keys touched (prefix p = ARGV[1]): p..jobidx or p..jobidx:{status} (zset),
--   p..job:{id} (hashes, read only).
-- ARGV: prefix, status ('' = the index of every job), id, id, ...
-- An entry is stale when its record is gone, or (status index) the record's status is no
-- longer that status. Checking and removing in one script means an id that a finish
-- re-added meanwhile is never dropped. Returns how many entries were removed.
local p, status = ARGV[1], ARGV[2]
local index = p .. 'jobidx'
if status ~= '' then index = index .. ':' .. status end
local removed = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local stale
  if status == '' then
    stale = redis.call('EXISTS', p .. 'job:' .. id) == 0
  else
    stale = redis.call('HGET', p .. 'job:' .. id, 'status') ~= status
  end
  if stale then
    removed = removed + redis.call('ZREM', index, id)
  end
end
return removed
