-- Give a dead worker's popped-but-not-started raw items back to their raw queues.
-- Keys touched (prefix p = ARGV[1]): p..rawinflight:{worker} (hash), p..rawworkers (set),
--   p..rawq:{queue} (list, set or zset, by the kind stored with each item);
--   publishes on p..notify.
-- ARGV: prefix, worker id (the caller has checked it is dead).
-- List items go back to the head (they were popped from there), set items are
-- re-added, sorted and timed items get their original score back (unless the
-- member was queued again meanwhile: its newer score wins).
-- Returns the number of items given back.
local p, worker = ARGV[1], ARGV[2]
local rawinflight = p .. 'rawinflight:' .. worker
local flat = redis.call('HGETALL', rawinflight)
local n = 0
local entries = {}
for i = 2, #flat, 2 do
  entries[#entries + 1] = cjson.decode(flat[i])
end
-- Newest pop first, last item of a pop first: LPUSHing in this order rebuilds the
-- list items' original order at the head of the queue.
table.sort(entries, function(a, b)
  local at_a, at_b = tonumber(a.at) or 0, tonumber(b.at) or 0
  if at_a ~= at_b then return at_a > at_b end
  return (a.n or 0) > (b.n or 0)
end)
for _, entry in ipairs(entries) do
  local key = p .. 'rawq:' .. entry.queue
  if entry.kind == 'list' then
    redis.call('LPUSH', key, entry.item)
  elseif entry.kind == 'set' then
    redis.call('SADD', key, entry.item)
  else
    redis.call('ZADD', key, 'NX', entry.score, entry.item)
  end
  n = n + 1
end
redis.call('DEL', rawinflight)
redis.call('SREM', p .. 'rawworkers', worker)
if n > 0 then redis.call('PUBLISH', p .. 'notify', n) end
return n
