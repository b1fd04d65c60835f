-- Hand up to `count` queued jobs to one worker, atomically.
-- Keys touched (prefix p = ARGV[1]): p..q:{queue} (lists, in priority order),
--   p..qpris:{queue} (set: the queue's priority steps in use; a drained step is removed),
--   p..qpri:{step}:{queue} (lists of priority steps, served after every queue's own list,
--   by increasing step, queues in order within a step),
--   p..paused (set), p..job:{id} (hashes), p..inflight:{worker} (zset);
--   for a record that is not a hash: p..quarantine:job:{id} (its value, renamed),
--   p..jobidx:failed (zset); publishes on p..done:{id}.
-- ARGV: prefix, worker id, now, count, queue names in priority order...
-- Each id leaves its queue list and enters the worker's inflight zset in the same
-- script, so a job is never in two workers' hands nor in nobody's: if the worker
-- dies, lost-job recovery finds the id in its inflight set.
-- Ids whose record is not 'queued' (cancelled, or expired) are dropped from the list.
-- Poison is contained, never raised (a Lua error would abort the script after its
-- pops, leaving the rest of the batch in no list):
--   * a queue key that is not a list is skipped and reported;
--   * a job key that is not a hash is set aside (renamed to p..quarantine:job:{id},
--     its data kept) and replaced by a failed record that says so.
-- Returns {flat list id1, {hgetall of id1}, id2, {...}, ...; flat list of
--   bad queue name, error, ...}.
local p, worker, now, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local inflight = p .. 'inflight:' .. worker
local out = {}
local bad = {}
local got = 0

local function set_aside(id, jobkey, queue, err)
  local kind = redis.call('TYPE', jobkey)['ok']
  local aside = p .. 'quarantine:job:' .. id
  redis.call('RENAME', jobkey, aside)
  redis.call('HSET', jobkey, 'status', 'failed', 'queue', queue, 'path', '',
             'exceptiontype', 'mrqcore.exceptions.MalformedJobError',
             'traceback', 'mrqcore.exceptions.MalformedJobError: the record of job ' .. id ..
               ' is a ' .. kind .. ', not a hash (' .. err .. '); its value was moved to key ' .. aside,
             'datedone', now, 'dateupdated', now)
  redis.call('ZADD', p .. 'jobidx:failed', now, id)
  redis.call('PUBLISH', p .. 'done:' .. id, 'failed')
end

-- Pop up to count - got ids from one list into the worker's hands; false when the list is empty.
local function serve(queue, qkey)
  while got < count do
    local ids = redis.pcall('LPOP', qkey, count - got)
    if type(ids) == 'table' and ids['err'] then
      bad[#bad + 1] = queue
      bad[#bad + 1] = ids['err']
      return true
    end
    if not ids then return false end
    for _, id in ipairs(ids) do
      local jobkey = p .. 'job:' .. id
      local status = redis.pcall('HGET', jobkey, 'status')
      if type(status) == 'table' and status['err'] then
        set_aside(id, jobkey, queue, status['err'])
      elseif status == 'queued' then
        redis.call('ZADD', inflight, now, id)
        redis.call('HSET', jobkey, 'status', 'started', 'worker', worker,
                   'datestarted', now, 'dateupdated', now)
        out[#out + 1] = id
        out[#out + 1] = redis.call('HGETALL', jobkey)
        got = got + 1
      end
    end
  end
  return true
end

-- Every queue's own list first, in order (the fast path: nothing more when they fill the batch).
local open_queues = {}
for q = 5, #ARGV do
  if got >= count then break end
  local queue = ARGV[q]
  if redis.call('SISMEMBER', p .. 'paused', queue) == 0 then
    open_queues[#open_queues + 1] = queue
    serve(queue, p .. 'q:' .. queue)
  end
end

-- Then priority step lists, by increasing step, queues in order within a step.
if got < count then
  local stepped = {}
  for order, queue in ipairs(open_queues) do
    for _, step in ipairs(redis.call('SMEMBERS', p .. 'qpris:' .. queue)) do
      stepped[#stepped + 1] = {tonumber(step), order, queue, step}
    end
  end
  table.sort(stepped, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
  for _, entry in ipairs(stepped) do
    if got >= count then break end
    local queue, step = entry[3], entry[4]
    if not serve(queue, p .. 'qpri:' .. step .. ':' .. queue) then
      redis.call('SREM', p .. 'qpris:' .. queue, step)  -- drained: no more SMEMBERS hits for it
    end
  end
end
return {out, bad}
