/*
 * The signaling core's cluster side (sig_cluster.c): lobbies shared by
 * every node of a cluster through Redis, sans-I/O like the rest of the
 * core. Redis commands are outputs (PM_SIGSRV_OUT_REDIS); replies, the
 * node channel's messages and the link's state are inputs (sig_core.h).
 */
#ifndef PM_SIG_CLUSTER_H
#define PM_SIG_CLUSTER_H

/* The Lua scripts (sig_cluster_lua.c): a prelude of shared functions, and
 * one body per operation, run as prelude + body. */
extern const char *const PM_SIG_LUA_PRELUDE;
extern const char *const PM_SIG_LUA_JOIN;
extern const char *const PM_SIG_LUA_LEAVE;
extern const char *const PM_SIG_LUA_QUIET;
extern const char *const PM_SIG_LUA_SEAL;
extern const char *const PM_SIG_LUA_SYNC;
extern const char *const PM_SIG_LUA_HEARTBEAT;
extern const char *const PM_SIG_LUA_REAP;

#endif
