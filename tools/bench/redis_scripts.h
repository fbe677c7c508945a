// The Lua scripts of the Redis baseline (redis_pool.h): HeaPA pool semantics on sorted sets,
// lists, sets and hashes. Each script runs atomically in Redis; with appendfsync always the
// reply follows the fsync of its effects (Redis fsyncs the AOF before it writes replies).
//
// Keys (one pool per Redis instance):
//   p:ctr      hash: next_id, seq, lease counters
//   p:low      zset, score = reward, member = "%012x:<id>" of (2^48 - 1 - seq): ZPOPMAX takes
//              the max reward, ties the smallest seq (the hard side; its max is the boundary)
//   p:high     zset, score = reward, member = "%012x:<id>" of seq: ZPOPMIN takes the min
//              reward, ties the smallest seq (the easy side; its min is the boundary)
//   p:cold     list of ids, FIFO (unscored)
//   p:inflight zset, score = lease deadline (ms), member = id
//   p:archive  set of ids reported since their last placement
//   p:dedup    hash: content hash -> id (idempotent insert)
//   p:parents  set of ids with children; c:<id> set of the children of <id>
//   q:<id>     hash: st (C L H F A), r (reward), m (zset member), ls (lease), dl (deadline),
//              pv (set sampled from), ts (times sampled), n/ro/mean/m2/mn/mx (report count,
//              rollouts, Welford mean and M2, min, max), step, rl (last reported lease),
//              par, pd (parent, policy difficulty: children)
//   t:<id>     string: "<prompt bytes>:" prompt answer (texts apart, so q:<id> stays a small
//              listpack; a 300-byte field would turn the hash into a hashtable)
// Not modelled: capacity eviction (the bench never fills past max_size), mixed mode, PathAgg,
// pending children and validation, request ids for exactly-once retries, checkpoints.
#ifndef HEAPA_TOOLS_BENCH_REDIS_SCRIPTS_H_
#define HEAPA_TOOLS_BENCH_REDIS_SCRIPTS_H_

namespace heapa::bench::redis_lua {

// Helpers shared by every script (prepended to each).
inline constexpr const char* kPrelude = R"lua(
local LOW_FRACTION = 0.5
local function fmt(x) return string.format('%.17g', x) end
local function clip(x) if x < -1 then return -1 elseif x > 1 then return 1 end return x end
local function adj(v, d) d = math.max(d, 1e-6) if v >= 0 then return v / d end return v * d end
local function next_seq() return redis.call('HINCRBY', 'p:ctr', 'seq', 1) end
local function id_of(m) return string.sub(m, 14) end
local function push_high(id, r)
  local m = string.format('%012x:%s', next_seq(), id)
  redis.call('ZADD', 'p:high', fmt(r), m)
  redis.call('HSET', 'q:' .. id, 'st', 'H', 'm', m)
end
local function push_low(id, r)
  local m = string.format('%012x:%s', 281474976710655 - next_seq(), id)
  redis.call('ZADD', 'p:low', fmt(r), m)
  redis.call('HSET', 'q:' .. id, 'st', 'L', 'm', m)
end
local function pop(key, cmd)
  local t = redis.call(cmd, key)
  if #t == 0 then return nil end
  return id_of(t[1]), tonumber(t[2])
end
local function pop_high_min() return pop('p:high', 'ZPOPMIN') end
local function pop_low_max() return pop('p:low', 'ZPOPMAX') end
-- Python's round(): half to even (heapa-algorithm.md 3.1).
local function round_half_even(x)
  local f = math.floor(x)
  local d = x - f
  if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
  if f % 2 == 0 then return f end
  return f + 1
end
-- Local rebalance: at most 4 moves across the boundary.
local function rebalance()
  local nl = redis.call('ZCARD', 'p:low')
  local nh = redis.call('ZCARD', 'p:high')
  local total = nl + nh
  if total == 0 then return end
  local target = round_half_even(LOW_FRACTION * total)
  if math.abs(nl - target) <= 1 then return end
  if nl < target then
    for _ = 1, math.min(target - nl, nh, 4) do local id, r = pop_high_min(); push_low(id, r) end
  else
    for _ = 1, math.min(nl - target, nl, 4) do local id, r = pop_low_max(); push_high(id, r) end
  end
end
-- The reference placement: above the HIGH minimum goes HIGH, else LOW; then rebalance.
local function place(id, r)
  local t = redis.call('ZRANGE', 'p:high', 0, 0, 'WITHSCORES')
  if #t == 0 or r > tonumber(t[2]) then push_high(id, r) else push_low(id, r) end
  rebalance()
end
local function return_to_pool(id)
  local key = 'q:' .. id
  local t = redis.call('HMGET', key, 'st', 'r')
  if t[1] ~= 'F' then return end
  if t[2] then
    place(id, tonumber(t[2]))
  else
    redis.call('LPUSH', 'p:cold', id)
    redis.call('HSET', key, 'st', 'C')
  end
end
-- Controlled reinsertion: the whole archive, shuffled, back into LOW/HIGH by reward.
local function reinsert()
  local ids = redis.call('SMEMBERS', 'p:archive')
  for i = #ids, 2, -1 do
    local j = math.random(1, i)
    ids[i], ids[j] = ids[j], ids[i]
  end
  redis.call('DEL', 'p:archive')
  for _, id in ipairs(ids) do
    local r = redis.call('HGET', 'q:' .. id, 'r')
    if r then
      place(id, tonumber(r))
    else
      redis.call('RPUSH', 'p:cold', id)
      redis.call('HSET', 'q:' .. id, 'st', 'C')
    end
  end
  return #ids
end
)lua";

// ARGV: now_ms, then per query: content hash, text ("<n>:" prompt answer), source, reward ('' :
// unscored). Returns one integer per query: the new id, or -id of the existing copy.
inline constexpr const char* kInsert = R"lua(
local now = ARGV[1]
local out = {}
for i = 2, #ARGV, 4 do
  local existing = redis.call('HGET', 'p:dedup', ARGV[i])
  if existing then
    out[#out + 1] = -tonumber(existing)
  else
    local id = redis.call('HINCRBY', 'p:ctr', 'next_id', 1)
    redis.call('HSET', 'p:dedup', ARGV[i], id)
    redis.call('SET', 't:' .. id, ARGV[i + 1])
    local key = 'q:' .. id
    redis.call('HSET', key, 'src', ARGV[i + 2], 'ct', now)
    if ARGV[i + 3] == '' then
      redis.call('RPUSH', 'p:cold', id)
      redis.call('HSET', key, 'st', 'C')
    else
      redis.call('HSET', key, 'r', ARGV[i + 3])
      place(tostring(id), tonumber(ARGV[i + 3]))
    end
    out[#out + 1] = id
  end
end
return out
)lua";

// ARGV: count, now_ms, lease_ms, with_content (0/1), rng seed. Expired leases return first;
// the archive is reinserted when fewer than `count` are pooled; COLD first (FIFO); then up to
// 2k boundary candidates alternating HIGH-min / LOW-max, k kept uniformly, the rest put back
// with a fresh seq. Returns {lease, deadline, then per query: id, from (C/L/H), reward ('' when
// unscored)[, text]}.
inline constexpr const char* kSample = R"lua(
local k = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local lease_ms = tonumber(ARGV[3])
local content = ARGV[4] == '1'
math.randomseed(tonumber(ARGV[5]))
local expired = redis.call('ZRANGEBYSCORE', 'p:inflight', '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', 'p:inflight', id)
  return_to_pool(id)
end
local nl = redis.call('ZCARD', 'p:low')
local nh = redis.call('ZCARD', 'p:high')
local nc = redis.call('LLEN', 'p:cold')
if nl + nh + nc < k and redis.call('SCARD', 'p:archive') > 0 then
  reinsert()
  nl = redis.call('ZCARD', 'p:low')
  nh = redis.call('ZCARD', 'p:high')
  nc = redis.call('LLEN', 'p:cold')
end
local ids, from, rewards = {}, {}, {}
local ncold = math.min(k, nc)
if ncold > 0 then
  for _, id in ipairs(redis.call('LPOP', 'p:cold', ncold)) do
    ids[#ids + 1] = id; from[#from + 1] = 'C'; rewards[#rewards + 1] = ''
  end
end
local need = k - #ids
if need > 0 and nl + nh > 0 then
  local ak = math.min(need, nl + nh)
  local take = math.min(2 * ak, nl + nh)
  local cid, cr, cf = {}, {}, {}
  local want_high = true
  while take > 0 and nl + nh > 0 do
    local id, r, f
    if (want_high and nh > 0) or nl == 0 then
      id, r = pop_high_min(); f = 'H'; nh = nh - 1
    else
      id, r = pop_low_max(); f = 'L'; nl = nl - 1
    end
    cid[#cid + 1] = id; cr[#cr + 1] = r; cf[#cf + 1] = f
    take = take - 1
    want_high = not want_high
  end
  local idx = {}
  for i = 1, #cid do idx[i] = i end
  for i = 1, math.min(ak, #cid - 1) do
    local j = math.random(i, #cid)
    idx[i], idx[j] = idx[j], idx[i]
  end
  local chosen = {}
  for i = 1, ak do chosen[idx[i]] = true end
  for i = 1, #cid do
    if not chosen[i] then
      if cf[i] == 'H' then push_high(cid[i], cr[i]) else push_low(cid[i], cr[i]) end
    end
  end
  rebalance()
  for i = 1, ak do
    local c = idx[i]
    ids[#ids + 1] = cid[c]; from[#from + 1] = cf[c]; rewards[#rewards + 1] = fmt(cr[c])
  end
end
if #ids == 0 then return {0, 0} end
local lease = redis.call('HINCRBY', 'p:ctr', 'lease', 1)
local deadline = now + lease_ms
local out = {lease, deadline}
for i = 1, #ids do
  local key = 'q:' .. ids[i]
  redis.call('HSET', key, 'st', 'F', 'ls', lease, 'dl', deadline, 'pv', from[i])
  redis.call('HINCRBY', key, 'ts', 1)
  redis.call('ZADD', 'p:inflight', deadline, ids[i])
  out[#out + 1] = ids[i]; out[#out + 1] = from[i]; out[#out + 1] = rewards[i]
  if content then out[#out + 1] = redis.call('GET', 't:' .. ids[i]) end
end
return out
)lua";

// ARGV: now_ms, then per item: id, lease, step, n, n rewards. Validates every item before
// writing anything (a script is not rolled back on error): unknown id, no rewards, an id twice,
// a lease never granted. Returns one outcome per item:
// 0 applied (now ARCHIVED), 1 duplicate, 2 late (statistics only), 3 stale (nothing).
inline constexpr const char* kReport = R"lua(
local items, seen = {}, {}
local i = 2
while i <= #ARGV do
  local id = ARGV[i]
  if seen[id] then return redis.error_reply('INVALID query ' .. id .. ' twice in one report') end
  seen[id] = true
  local lease = tonumber(ARGV[i + 1])
  local n = tonumber(ARGV[i + 3])
  local key = 'q:' .. id
  local t = redis.call('HMGET', key, 'st', 'ls', 'rl')
  if not t[1] then return redis.error_reply('NOTFOUND query ' .. id) end
  if n < 1 then return redis.error_reply('INVALID no rewards for query ' .. id) end
  local ls = tonumber(t[2] or 0)
  if lease > ls then return redis.error_reply('PRECONDITION lease never granted to ' .. id) end
  items[#items + 1] = {id = id, key = key, lease = lease, step = ARGV[i + 2], first = i + 4,
                       n = n, st = t[1], ls = ls, rl = tonumber(t[3] or 0)}
  i = i + 4 + n
end
local out = {}
for _, it in ipairs(items) do
  local o
  if it.rl == it.lease then
    o = 1
  elseif it.lease < it.ls then
    o = 3
  else
    local s = redis.call('HMGET', it.key, 'n', 'ro', 'mean', 'm2', 'mn', 'mx')
    local ro = tonumber(s[2] or 0)
    local mean = tonumber(s[3] or 0)
    local m2 = tonumber(s[4] or 0)
    local mn = tonumber(s[5] or 1e308)
    local mx = tonumber(s[6] or -1e308)
    local sum = 0
    for j = it.first, it.first + it.n - 1 do
      local x = tonumber(ARGV[j])
      sum = sum + x
      ro = ro + 1
      local d = x - mean
      mean = mean + d / ro
      m2 = m2 + d * (x - mean)
      if x < mn then mn = x end
      if x > mx then mx = x end
    end
    redis.call('HSET', it.key, 'n', tonumber(s[1] or 0) + 1, 'ro', ro, 'mean', fmt(mean),
               'm2', fmt(m2), 'mn', fmt(mn), 'mx', fmt(mx), 'step', it.step, 'rl', it.lease)
    if it.st == 'F' then
      redis.call('HSET', it.key, 'st', 'A', 'r', fmt(sum / it.n))
      redis.call('ZREM', 'p:inflight', it.id)
      redis.call('SADD', 'p:archive', it.id)
      o = 0
    else
      o = 2
    end
  end
  out[#out + 1] = o
end
return out
)lua";

// ARGV: now_ms, then per child: content hash, text, parent id, policy difficulty. Validated
// children, admitted by the §5.2 estimate from the parent's reward. Returns ids as kInsert.
inline constexpr const char* kChildren = R"lua(
for i = 2, #ARGV, 4 do
  if redis.call('EXISTS', 'q:' .. ARGV[i + 2]) == 0 then
    return redis.error_reply('NOTFOUND parent ' .. ARGV[i + 2])
  end
end
local out = {}
for i = 2, #ARGV, 4 do
  local existing = redis.call('HGET', 'p:dedup', ARGV[i])
  if existing then
    out[#out + 1] = -tonumber(existing)
  else
    local id = redis.call('HINCRBY', 'p:ctr', 'next_id', 1)
    redis.call('HSET', 'p:dedup', ARGV[i], id)
    redis.call('SET', 't:' .. id, ARGV[i + 1])
    local parent = ARGV[i + 2]
    local d = tonumber(ARGV[i + 3])
    local pr = redis.call('HGET', 'q:' .. parent, 'r')
    local br = 0.5
    if pr then br = clip(tonumber(pr)) end
    local est = clip(adj(br, math.max(d, 0.01)))
    redis.call('HSET', 'q:' .. id, 'src', 'aug', 'ct', ARGV[1], 'par', parent, 'pd', ARGV[i + 3],
               'r', fmt(est))
    redis.call('SADD', 'c:' .. parent, id)
    redis.call('SADD', 'p:parents', parent)
    place(tostring(id), est)
    out[#out + 1] = id
  end
end
return out
)lua";

// ChildAgg refresh, dry run (heapa-algorithm.md 4.5): internal nodes by increasing height;
// new = mean of adj(child value, child difficulty), blended 0.5 with the node's own value,
// clipped. Returns {id, value, ...}.
inline constexpr const char* kRefresh = R"lua(
local parents = redis.call('SMEMBERS', 'p:parents')
local isp, kids, height = {}, {}, {}
for _, u in ipairs(parents) do isp[u] = true end
local function children(u)
  local c = kids[u]
  if not c then c = redis.call('SMEMBERS', 'c:' .. u); kids[u] = c end
  return c
end
local function h(u)
  if not isp[u] then return 0 end
  if height[u] then return height[u] end
  local best = 0
  for _, c in ipairs(children(u)) do best = math.max(best, h(c) + 1) end
  height[u] = best
  return best
end
for _, u in ipairs(parents) do h(u) end
table.sort(parents, function(a, b) return height[a] < height[b] end)
local function active(u)
  local t = redis.call('HMGET', 'q:' .. u, 'r', 'pd')
  local d = tonumber(t[2] or 1)
  if not (d > 0) then d = 1 end
  if t[1] then return tonumber(t[1]), d end
  return nil, d
end
local value, out = {}, {}
for _, u in ipairs(parents) do
  local sum, cnt = 0, 0
  for _, c in ipairs(children(u)) do
    local v, d = active(c)
    if value[c] ~= nil then v = value[c] end
    if v ~= nil then sum = sum + adj(v, d); cnt = cnt + 1 end
  end
  if cnt > 0 then
    local m = sum / cnt
    local own = active(u)
    local nv = m
    if own ~= nil then nv = 0.5 * own + 0.5 * m end
    nv = clip(nv)
    value[u] = nv
    out[#out + 1] = u; out[#out + 1] = fmt(nv)
  end
end
return out
)lua";

}  // namespace heapa::bench::redis_lua

#endif  // HEAPA_TOOLS_BENCH_REDIS_SCRIPTS_H_
