/*
 * The Lua scripts the cluster runs in Redis (sig_cluster.c; docs/signaling.md,
 * "Scale-out on Redis"). Each runs atomically, so every decision about a
 * lobby (ids, join order, limits, seal, host) is taken once, in one order,
 * for every node; every change gets the lobby's next sequence number and is
 * published to the channel of each node with members there (but the node
 * that asked, which gets it in the reply).
 *
 * Keys (P = the prefix, "peermesh:" by default):
 *   P l:<name>       hash: mesh, sealed, host, seq, order, migrate
 *   P l:<name>:m     sorted set: peer ids by join order
 *   P l:<name>:w     hash: peer id -> "<node> <connection>"
 *   P l:<name>:n     hash: node -> its members in the lobby
 *   P lobbies        set of lobby names;  P members: members of all lobbies
 *   P nodes          set of node ids;  P node:<id>: alive while it beats
 *   P node:<id>:m    set of "<name> <peer>" it holds, for reaping it
 *   channel P c:<id> the node's messages: "E<name>\n<seq> <event>" and relays
 * Events: "J <peer> <node> <connection>", "L <peer>", "H <peer>" (new
 * host), "X" (host gone: lobby closed), "S" (sealed).
 */
#include "signaling/sig_cluster.h"

const char *const PM_SIG_LUA_PRELUDE =
    "local P = ARGV[1]\n"
    "local function L(name) return P .. 'l:' .. name end\n"
    "local function publish(name, msg, except)\n"
    "  for _, n in ipairs(redis.call('HKEYS', L(name) .. ':n')) do\n"
    "    if n ~= except then redis.call('PUBLISH', P .. 'c:' .. n, msg) end\n"
    "  end\n"
    "end\n"
    "local function event(name, except, text)\n"
    "  local seq = redis.call('HINCRBY', L(name), 'seq', 1)\n"
    "  publish(name, 'E' .. name .. '\\n' .. seq .. ' ' .. text, except)\n"
    "  return seq\n"
    "end\n"
    "local function unlink(name, peer)\n"
    "  local l = L(name)\n"
    "  local where = redis.call('HGET', l .. ':w', peer)\n"
    "  if not where then return false end\n"
    "  local node = string.match(where, '^(%S+)')\n"
    "  redis.call('HDEL', l .. ':w', peer)\n"
    "  redis.call('ZREM', l .. ':m', peer)\n"
    "  redis.call('SREM', P .. 'node:' .. node .. ':m', name .. ' ' .. peer)\n"
    "  redis.call('DECR', P .. 'members')\n"
    "  if redis.call('HINCRBY', l .. ':n', node, -1) <= 0 then\n"
    "    redis.call('HDEL', l .. ':n', node)\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local function drop_lobby(name)\n"
    "  local l = L(name)\n"
    "  for _, peer in ipairs(redis.call('ZRANGE', l .. ':m', 0, -1)) do unlink(name, peer) end\n"
    "  redis.call('DEL', l, l .. ':m', l .. ':w', l .. ':n')\n"
    "  redis.call('SREM', P .. 'lobbies', name)\n"
    "end\n"
    /* A member goes (it left, or its node died): {seq, event, ...}. */
    "local function leave(name, peer, except)\n"
    "  local l = L(name)\n"
    "  if redis.call('EXISTS', l) == 0 then return {} end\n"
    "  local host = redis.call('HGET', l, 'host')\n"
    "  if not unlink(name, peer) then return {} end\n"
    "  local out = {}\n"
    "  if peer ~= host then\n"
    "    table.insert(out, event(name, except, 'L ' .. peer)); table.insert(out, 'L ' .. peer)\n"
    "    return out\n"
    "  end\n"
    "  if redis.call('ZCARD', l .. ':m') > 0 and redis.call('HGET', l, 'migrate') == '1'\n"
    "     and redis.call('HGET', l, 'mesh') == '1' then\n"
    "    local low\n"
    "    for _, id in ipairs(redis.call('ZRANGE', l .. ':m', 0, -1)) do\n"
    "      if not low or tonumber(id) < tonumber(low) then low = id end\n"
    "    end\n"
    "    redis.call('HSET', l, 'host', low)\n"
    "    table.insert(out, event(name, except, 'L ' .. peer)); table.insert(out, 'L ' .. peer)\n"
    "    table.insert(out, event(name, except, 'H ' .. low)); table.insert(out, 'H ' .. low)\n"
    "    return out\n"
    "  end\n"
    "  table.insert(out, event(name, except, 'X')); table.insert(out, 'X')\n"
    "  drop_lobby(name)\n"
    "  return out\n"
    "end\n";

/* ARGV: P name node connection create mesh max_lobbies max_lobby_peers
 * migrate candidate... -> {"OK", seq, peer, mesh, host, {id, where, ...}} or
 * {"EXISTS" | "LOBBIES" | "NOLOBBY" | "SEALED" | "FULL"}. */
const char *const PM_SIG_LUA_JOIN =
    "local name, node, conn = ARGV[2], ARGV[3], ARGV[4]\n"
    "local l = L(name)\n"
    "local peer\n"
    "if ARGV[5] == '1' then\n"
    "  if redis.call('EXISTS', l) == 1 then return {'EXISTS'} end\n"
    "  if redis.call('SCARD', P .. 'lobbies') >= tonumber(ARGV[7]) then return {'LOBBIES'} end\n"
    "  redis.call('HSET', l, 'mesh', ARGV[6], 'sealed', '0', 'host', '1', 'seq', '0',\n"
    "             'order', '0', 'migrate', ARGV[9])\n"
    "  redis.call('SADD', P .. 'lobbies', name)\n"
    "  peer = '1'\n"
    "else\n"
    "  if redis.call('EXISTS', l) == 0 then return {'NOLOBBY'} end\n"
    "  if redis.call('HGET', l, 'sealed') == '1' then return {'SEALED'} end\n"
    "  if redis.call('ZCARD', l .. ':m') >= tonumber(ARGV[8]) then return {'FULL'} end\n"
    "  for i = 10, #ARGV do\n"
    "    if redis.call('HEXISTS', l .. ':w', ARGV[i]) == 0 then peer = ARGV[i]; break end\n"
    "  end\n"
    "  if not peer then return {'FULL'} end\n"
    "end\n"
    "local snap = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', l .. ':m', 0, -1)) do\n"
    "  table.insert(snap, id); table.insert(snap, redis.call('HGET', l .. ':w', id))\n"
    "end\n"
    "redis.call('ZADD', l .. ':m', redis.call('HINCRBY', l, 'order', 1), peer)\n"
    "redis.call('HSET', l .. ':w', peer, node .. ' ' .. conn)\n"
    "redis.call('HINCRBY', l .. ':n', node, 1)\n"
    "redis.call('SADD', P .. 'node:' .. node .. ':m', name .. ' ' .. peer)\n"
    "redis.call('INCR', P .. 'members')\n"
    "local seq = event(name, node, 'J ' .. peer .. ' ' .. node .. ' ' .. conn)\n"
    "local h = redis.call('HMGET', l, 'mesh', 'host')\n"
    "return {'OK', seq, peer, h[1], h[2], snap}\n";

/* ARGV: P name peer node -> {seq, event, ...} */
const char *const PM_SIG_LUA_LEAVE = "return leave(ARGV[2], ARGV[3], ARGV[4])\n";

/* After the seal delay each node lets its members go quietly, as one node
 * closes them all with 1000 and tells nobody. ARGV: P name peer... */
const char *const PM_SIG_LUA_QUIET =
    "for i = 3, #ARGV do unlink(ARGV[2], ARGV[i]) end\n"
    "if redis.call('ZCARD', L(ARGV[2]) .. ':m') == 0 then drop_lobby(ARGV[2]) end\n"
    "return 1\n";

/* ARGV: P name peer node -> {seq, "S"}, {} (already sealed, or no lobby),
 * or {"NOTHOST"} (a migration overtook it). */
const char *const PM_SIG_LUA_SEAL =
    "local l = L(ARGV[2])\n"
    "if redis.call('EXISTS', l) == 0 or redis.call('HGET', l, 'sealed') == '1' then\n"
    "  return {}\n"
    "end\n"
    "if redis.call('HGET', l, 'host') ~= ARGV[3] then return {'NOTHOST'} end\n"
    "redis.call('HSET', l, 'sealed', '1')\n"
    "return {event(ARGV[2], ARGV[4], 'S'), 'S'}\n";

/* ARGV: P name -> {} when gone, else {seq, mesh, host, sealed, {id, where, ...}} */
const char *const PM_SIG_LUA_SYNC =
    "local l = L(ARGV[2])\n"
    "if redis.call('EXISTS', l) == 0 then return {} end\n"
    "local h = redis.call('HMGET', l, 'seq', 'mesh', 'host', 'sealed')\n"
    "local snap = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', l .. ':m', 0, -1)) do\n"
    "  table.insert(snap, id); table.insert(snap, redis.call('HGET', l .. ':w', id))\n"
    "end\n"
    "return {tonumber(h[1]), h[2], h[3], h[4], snap}\n";

/* ARGV: P node ttl_ms -> {was alive (0/1), lobbies, members, nodes} */
const char *const PM_SIG_LUA_HEARTBEAT =
    "local alive = redis.call('SET', P .. 'node:' .. ARGV[2], '1', 'PX', ARGV[3], 'XX')\n"
    "if not alive then redis.call('SET', P .. 'node:' .. ARGV[2], '1', 'PX', ARGV[3]) end\n"
    "redis.call('SADD', P .. 'nodes', ARGV[2])\n"
    "return {alive and 1 or 0, redis.call('SCARD', P .. 'lobbies'),\n"
    "        tonumber(redis.call('GET', P .. 'members') or '0'), redis.call('SCARD', P .. "
    "'nodes')}\n";

/* A node whose heartbeat key expired is dead: its members leave their
 * lobbies (announced as any leave). ARGV: P self -> nodes reaped. */
const char *const PM_SIG_LUA_REAP =
    "local reaped = 0\n"
    "for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do\n"
    "  if n ~= ARGV[2] and redis.call('EXISTS', P .. 'node:' .. n) == 0 then\n"
    "    for _, e in ipairs(redis.call('SMEMBERS', P .. 'node:' .. n .. ':m')) do\n"
    "      local name, peer = string.match(e, '^(%S+) (%S+)$')\n"
    "      if name then leave(name, peer, nil) end\n"
    "    end\n"
    "    redis.call('DEL', P .. 'node:' .. n .. ':m')\n"
    "    redis.call('SREM', P .. 'nodes', n)\n"
    "    reaped = reaped + 1\n"
    "  end\n"
    "end\n"
    "return reaped\n";
