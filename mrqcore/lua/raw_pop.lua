-- Pop up to N items from one raw queue into a worker's hands, atomically.
-- Keys touched (prefix p = ARGV[1]): p..paused (set), p..rawq:{queue} (list, set or
--   zset by kind), p..rawinflight:{worker} (hash), p..rawworkers (set).
-- ARGV: prefix, queue, kind ('list', 'set', 'sorted', 'timed'), worker, now,
--   pushback seconds (timed only; 0 = pop), then one fresh job id per item wanted.
-- Each popped item is written to the worker's raw-inflight hash (job id -> JSON
-- {queue, kind, item, score, at = pop time, n = rank in this pop}) in this same script, so an item is never in nobody's
-- hands: if the worker dies before turning it into a job, requeue_lost_raw_items
-- puts it back. In pushback mode (timed set, pushback > 0) items are not removed but
-- re-scored to now + pushback: they come back by themselves unless the job succeeds
-- (the worker then removes them), so nothing is tracked.
-- Returns a flat list: job id 1, item 1, job id 2, item 2, ...
local p, queue, kind, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, pushback = tonumber(ARGV[5]), tonumber(ARGV[6])
local n = #ARGV - 6
if n <= 0 or redis.call('SISMEMBER', p .. 'paused', queue) == 1 then return {} end
local key = p .. 'rawq:' .. queue
local items, scores = {}, {}
if kind == 'list' then
  items = redis.call('LPOP', key, n) or {}
elseif kind == 'set' then
  items = redis.call('SPOP', key, n) or {}
elseif kind == 'sorted' or kind == 'timed' then
  local flat
  if kind == 'sorted' then
    flat = redis.call('ZPOPMIN', key, n)
  else
    flat = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, n)
  end
  for i = 1, #flat, 2 do
    items[#items + 1] = flat[i]
    scores[#scores + 1] = flat[i + 1]
  end
  if kind == 'timed' then
    for _, item in ipairs(items) do
      if pushback > 0 then
        redis.call('ZADD', key, now + pushback, item)
      else
        redis.call('ZREM', key, item)
      end
    end
  end
else
  return redis.error_reply('raw_pop: unknown kind ' .. tostring(kind))
end
local track = not (kind == 'timed' and pushback > 0)
local inflight = p .. 'rawinflight:' .. worker
local out = {}
for i, item in ipairs(items) do
  local id = ARGV[6 + i]
  if track then
    redis.call('HSET', inflight, id,
      cjson.encode({queue = queue, kind = kind, item = item, score = scores[i] or false,
                    at = ARGV[5], n = i}))
  end
  out[#out + 1] = id
  out[#out + 1] = item
end
if track and #items > 0 then
  redis.call('SADD', p .. 'rawworkers', worker)
end
return out
