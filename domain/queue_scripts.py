"""The on-sale queue's Lua scripts, each atomic on Redis (and on fakeredis for the embedded default),
called by SHA (EVALSHA). Every script touches only the keys of one show (one hash tag, one Redis
Cluster slot), all named in KEYS: see domain/queue_keys.py for the layout."""

from __future__ import annotations

from domain.queue_keys import NOW, Script

# Taking places, for a batch of joins of one show (domain/queue_joins.py).
# ARGV: one per fan, 'fan' (a new place is the next in arrival order) or 'fan draw' (the fan asked before
# the open: a new place is that random draw). The reply: (state, value, score) per fan, the score (all
# 17 digits; '' if none) when the fan got a new place; or {'lost'} when Redis lost this show's line.
JOIN = Script(
    NOW
    + """
local line, seq, ever, turns, epoch = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', epoch) == 0 then return {'lost'} end  -- Redis lost this show's line: restore it first
local out = {}
for i = 1, #ARGV do
  -- one argument a fan: 'fan', or 'fan draw' for a fan asking before the open (a random place)
  local fan, draw = ARGV[i], nil
  local cut = string.find(fan, ' ', 1, true)
  if cut then fan, draw = string.sub(fan, 1, cut - 1), tonumber(string.sub(fan, cut + 1)) end
  local state, value, score = 'queued', nil, ''
  local left = tonumber(redis.call('ZSCORE', turns, fan) or '0') - server_now
  if left > 0 then
    state, value = 'admitted', math.ceil(left)
  else
    value = redis.call('ZRANK', line, fan)
    if not value then
      local again = redis.call('SISMEMBER', ever, fan)
      redis.call('SADD', ever, fan)
      local new
      if draw and again == 0 then
        new = draw
      else
        new = 1 + redis.call('INCR', seq)
      end
      redis.call('ZADD', line, new, fan)
      -- all 17 digits (tostring gives 14): the place written through is the score Redis holds
      value, score = redis.call('ZRANK', line, fan), string.format('%.17g', new)
    end
  end
  out[#out + 1] = state
  out[#out + 1] = value
  out[#out + 1] = score
end
return out
"""
)


# Where each fan named in ARGV[first ..] stands, appended to ``out`` as state, value: 'admitted' and the
# seconds left of their turn, 'queued' and their rank, 'none'; with ``free`` >= 0 (the live-turns cap),
# 'held' is 'queued' behind at least ``free`` fans, more than there are seats left for them to choose.
TELL = """
local function tell(out, turns, line, first, free)
  for i = first, #ARGV do
    local fan = ARGV[i]
    local left = tonumber(redis.call('ZSCORE', turns, fan) or '0') - server_now
    if left > 0 then
      out[#out + 1] = 'admitted'
      out[#out + 1] = math.ceil(left)
    else
      local rank = redis.call('ZRANK', line, fan)
      if rank then
        if free >= 0 and rank >= free then out[#out + 1] = 'held' else out[#out + 1] = 'queued' end
        out[#out + 1] = rank
      else
        out[#out + 1] = 'none'
        out[#out + 1] = 0
      end
    end
  end
end
"""


# Where fans stand, for the calls of one show that arrived together (domain/queue.py, _turns): first
# the fans named in ARGV[2 .. ARGV[1] + 1] stop counting against the live-turns cap (they hold seats
# now), then for each fan after them: state, value.
TURNS = Script(
    NOW
    + TELL
    + """
local turns, line, choosing = KEYS[1], KEYS[2], KEYS[3]
local done = tonumber(ARGV[1])
if done > 0 then redis.call('ZREM', choosing, unpack(ARGV, 2, done + 1)) end
local out = {}
tell(out, turns, line, done + 2, -1)
return out
"""
)


# Letting the head of the line in, and telling the fans whose joins asked where they stand then.
ADMIT = Script(
    NOW
    + TELL
    + """
local line, clock, admitted, admit_seq, turns = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local choosing = KEYS[6]
local now, on_sale, rate, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local room, choose = tonumber(ARGV[6]), tonumber(ARGV[7])
-- ARGV[5] 1: admit (0: only tell); ARGV[6]: seats a fan could take now (-1: no cap); ARGV[7]: seconds
-- a fan let in counts as choosing at most (on the bot's clock, ARGV[1], as the seats are). The reply:
-- {1 if the line ran dry, else 0; how many were let in; the fans let in...; then, for each fan named
-- after ARGV[7], where they stand: state, value; state 'held' is 'queued' with more fans ahead than
-- seats left for them to choose (the live-turns cap holds them back until seats come back)}
local out = {0, 0}
local free = -1  -- seats left for another fan to choose, after this admission (-1: no cap)
if tonumber(ARGV[5]) == 1 and now >= on_sale then
  if room >= 0 then
    redis.call('ZREMRANGEBYSCORE', choosing, '-inf', now)
    free = math.max(0, room - redis.call('ZCARD', choosing))
  end
  -- Unused admissions pile up to a burst of 10 seconds' worth (at least one): a fan who arrives at a
  -- quiet moment goes straight in, a crowd is still let in at the rate.
  local burst = math.max(1, rate / 6)
  local last = math.max(tonumber(redis.call('GET', clock) or on_sale), now - burst * 60 / rate)
  local allowance = math.floor((now - last) * rate / 60 + 1e-9)
  -- The live-turns cap: no more fans choosing at once than there are seats they could take.
  if free >= 0 then allowance = math.min(allowance, free) end
  if allowance > 0 then
    redis.call('ZREMRANGEBYSCORE', turns, '-inf', server_now)  -- turns that are over
    local popped = redis.call('ZPOPMIN', line, allowance)
    for i = 1, #popped, 2 do
      local fan = popped[i]
      redis.call('ZADD', turns, server_now + ttl, fan)
      if room >= 0 then redis.call('ZADD', choosing, now + math.min(ttl, choose), fan) end
      redis.call('ZADD', admitted, redis.call('INCR', admit_seq), fan)
      out[#out + 1] = fan
    end
    local n = #out - 2
    out[2] = n
    if free >= 0 then free = free - n end
    redis.call('SET', clock, last + n * 60 / rate)
    if n < allowance then out[1] = 1 end  -- the line ran dry
  end
end
tell(out, turns, line, 8, free)
return out
"""
)


# Emptying the line (sold out, cancelled, started).
CLOSE = Script("""
local fans = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return fans
""")


# How many fans are choosing (let in, holding no seat yet, within their choosing time; ARGV[1]: the bot's
# clock), as ADMIT counts them: for /queue status.
CHOOSING = Script("""
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
""")
