"""Lua scripts for the Redis projections: each is one round trip and atomic in Redis.

Every key lives under an *epoch*: ``gb:<epoch>:...`` where ``gb:epoch`` holds the current one.
Invalidating every projection at once (after Redis was unreachable, or when a process died
between a commit and its projection write) is ``INCR gb:epoch``; old keys expire by TTL.

Every entry carries the PostgreSQL row version it reflects; a write with an older or equal
version is ignored, so projection writes may arrive in any order and rebuilds may race writes.

- wallet hash ``gb:<e>:w:<player>``: field currency -> "<version>:<balance>"; field ``_full``
  once every currency was loaded from PostgreSQL (only then are reads served from it).
- leaderboard ``gb:<e>:lb:<board>:<period>:z`` (sorted set) and ``...:h`` (hash player ->
  "<version>|<member>", plus ``~ready`` once rebuilt from PostgreSQL). Member
  ``<achieved_at µs, 16 digits>:<player id>`` with score ``-score``: Redis's order (score, then
  member) is the ranking order (score desc, earliest achieved, player id).
"""

from __future__ import annotations

__all__ = ["EPOCH_KEY", "SCRIPTS"]

EPOCH_KEY = "gb:epoch"

_PRELUDE = """
local epoch = redis.call('GET', KEYS[1]) or '0'
local function set_versioned(k, field, version, value)
  local cur = redis.call('HGET', k, field)
  if cur then
    local v = tonumber(string.match(cur, '^(%d+)'))
    if v >= tonumber(version) then return false end
  end
  redis.call('HSET', k, field, version .. ':' .. value)
  return true
end
local function lb_set(z, h, player, version, zscore, member)
  local cur = redis.call('HGET', h, player)
  if cur then
    local sep = string.find(cur, '|', 1, true)
    if tonumber(string.sub(cur, 1, sep - 1)) >= tonumber(version) then return false end
    redis.call('ZREM', z, string.sub(cur, sep + 1))
  end
  redis.call('ZADD', z, zscore, member)
  redis.call('HSET', h, player, version .. '|' .. member)
  return true
end
local function lb_ready(z, h)
  if redis.call('HEXISTS', h, '~ready') == 0 then return false end
  -- the two keys expire together; if the set is gone while players remain, it is not ready
  return redis.call('EXISTS', z) == 1 or redis.call('HLEN', h) == 1
end
"""

# ARGV: player, currency, version, balance, ttl
_WALLET_SET = """
local k = 'gb:' .. epoch .. ':w:' .. ARGV[1]
if set_versioned(k, ARGV[2], ARGV[3], ARGV[4]) then redis.call('EXPIRE', k, ARGV[5]) return 1 end
return 0
"""

# ARGV: player -> {epoch, field, value, field, value, ...}
_WALLET_GET = """
local r = redis.call('HGETALL', 'gb:' .. epoch .. ':w:' .. ARGV[1])
table.insert(r, 1, epoch)
return r
"""

# ARGV: player, ttl, expected epoch, then (currency, version, balance)*
_WALLET_FILL = """
if epoch ~= ARGV[3] then return -1 end
local k = 'gb:' .. epoch .. ':w:' .. ARGV[1]
for i = 4, #ARGV, 3 do set_versioned(k, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
redis.call('HSET', k, '_full', '1')
redis.call('EXPIRE', k, ARGV[2])
return 1
"""

# ARGV: board, period, player, version, zscore, member, ttl
_LB_SET = """
local base = 'gb:' .. epoch .. ':lb:' .. ARGV[1] .. ':' .. ARGV[2]
local z, h = base .. ':z', base .. ':h'
if lb_set(z, h, ARGV[3], ARGV[4], ARGV[5], ARGV[6]) then
  redis.call('EXPIRE', z, ARGV[7]) redis.call('EXPIRE', h, ARGV[7]) return 1
end
return 0
"""

# ARGV: board, period, ttl, expected epoch, final (0/1), then (player, version, zscore, member)*
_LB_LOAD = """
if epoch ~= ARGV[4] then return -1 end
local base = 'gb:' .. epoch .. ':lb:' .. ARGV[1] .. ':' .. ARGV[2]
local z, h = base .. ':z', base .. ':h'
for i = 6, #ARGV, 4 do lb_set(z, h, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]) end
if ARGV[5] == '1' then redis.call('HSET', h, '~ready', '1') end
redis.call('EXPIRE', z, ARGV[3]) redis.call('EXPIRE', h, ARGV[3])
return 1
"""

# ARGV: board, period, start, stop -> {epoch, ready, member, score, member, score, ...}
_LB_RANGE = """
local base = 'gb:' .. epoch .. ':lb:' .. ARGV[1] .. ':' .. ARGV[2]
local z, h = base .. ':z', base .. ':h'
if not lb_ready(z, h) then return {epoch, 0} end
local r = redis.call('ZRANGE', z, ARGV[3], ARGV[4], 'WITHSCORES')
table.insert(r, 1, 1) table.insert(r, 1, epoch)
return r
"""

# ARGV: board, period, player, half -> {epoch, ready, rank or -1, member, score, ...}
_LB_AROUND = """
local base = 'gb:' .. epoch .. ':lb:' .. ARGV[1] .. ':' .. ARGV[2]
local z, h = base .. ':z', base .. ':h'
if not lb_ready(z, h) then return {epoch, 0} end
local cur = redis.call('HGET', h, ARGV[3])
if not cur then return {epoch, 1, -1} end
local member = string.sub(cur, string.find(cur, '|', 1, true) + 1)
local rank = redis.call('ZRANK', z, member)
local first = math.max(0, rank - tonumber(ARGV[4]))
local r = redis.call('ZRANGE', z, first, rank + tonumber(ARGV[4]), 'WITHSCORES')
table.insert(r, 1, first) table.insert(r, 1, 1) table.insert(r, 1, epoch)
return r
"""

SCRIPTS: dict[str, str] = {
    name: _PRELUDE + body
    for name, body in {
        "wallet_set": _WALLET_SET,
        "wallet_get": _WALLET_GET,
        "wallet_fill": _WALLET_FILL,
        "lb_set": _LB_SET,
        "lb_load": _LB_LOAD,
        "lb_range": _LB_RANGE,
        "lb_around": _LB_AROUND,
    }.items()
}
