-- Write or age job locators of the cluster store (mrqcore/store/redis_cluster.py), many per call.
-- Keys touched: the locator keys given in ARGV (strings, p..'loc:'..{id}), all served by the node
--   this runs on but in different hash slots. The store sends each node only keys of slots that
--   node serves (by its slot map); a key whose slot moved meanwhile fails the call, and the store
--   then falls back to one routed command per key (each step here is idempotent).
-- ARGV: mode, then pairs:
--   'claim':   key, queue  -> SET key queue NX; returns per key the previous value, '' if none.
--   'expire':  key, seconds -> EXPIRE key seconds; returns per key 1 or 0.
--   'persist': key, ''      -> PERSIST key; returns per key 1 or 0.
local mode = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local key, value = ARGV[i], ARGV[i + 1]
  if mode == 'claim' then
    local old = redis.call('GET', key)
    if not old then
      redis.call('SET', key, value)
      old = ''
    end
    out[#out + 1] = old
  elseif mode == 'expire' then
    out[#out + 1] = redis.call('EXPIRE', key, value)
  elseif mode == 'persist' then
    out[#out + 1] = redis.call('PERSIST', key)
  else
    return redis.error_reply('locators: unknown mode ' .. tostring(mode))
  end
end
return out
