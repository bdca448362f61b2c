/*
 * The signaling client's protocol core (sans-I/O): the demo clients'
 * protocol (ws_webrtc_client.gd / multiplayer_client.gd, GODOT-SEMANTICS.md
 * section 3) and the mesh it builds. It never touches a socket or reads a
 * clock: the transport reports (open, message, closed) with the time,
 * drains what to send (messages, a close, an abort) with
 * pm_sigcl_poll_output(), and calls pm_sigcl_timeout() at
 * pm_sigcl_next_deadline(). Events come out of pm_sigcl_next_event().
 *
 * One core is one signaling connection. Its WebSocket is the shell's
 * (client.c: libwebsockets through src/io/ws.c; a browser build: the
 * browser's WebSocket; the simulator: a queue to the server core): the core
 * only sees whole text messages.
 *
 * The mesh. When our id arrives the core creates the mesh (mesh.h) in the
 * mode the id says and then a peer connection for every announced peer,
 * through the peer factory: the shell's creates socket-mode peers
 * (pm_rtc_peer_new), a simulator's sans-I/O ones on its network. The core
 * drives the mesh in pm_sigcl_timeout() (pm_mesh_poll; the mesh reads its
 * own env's clock) and relays what its connections have to say. The mesh
 * outlives the signaling connection after a seal or our own close; a
 * signaling connection that ends otherwise closes it (as the demo clients).
 *
 * Nothing is ever called back except the factory, and only from inside
 * pm_sigcl_receive() (a peer announced); it must not call the core.
 *
 * The ENet transport (pm_signal_transport) is the exception to "no socket,
 * no clock": its links are ENet hosts, which own their sockets and read the
 * clock (enet.h), and their addresses come from the OS (sig_client_enet.c).
 * The core drives them from the same entry points; the factory is unused.
 */
#ifndef PM_SIG_CLIENT_H
#define PM_SIG_CLIENT_H

#include "base/base.h"
#include "peermesh/signaling.h"

typedef struct pm_sigcl pm_sigcl;

/** How the core gets the peer connections of its mesh. */
typedef struct pm_sigcl_peer_factory {
    /**
     * Create a NEW peer connection to remote peer `peer_id` from `cfg`: the
     * client's template (pm_signal_client_config.rtc) with the ICE servers
     * the signaling server handed out appended. A factory changes only what
     * is its own (transport mode, local addresses, env) and keeps the ICE
     * servers. `cfg` and what it points to are valid during the call only.
     * PM_OK with *out set, or an error (logged; that peer is left out).
     */
    int (*new_peer)(void *ud, int32_t peer_id, const pm_rtc_config *cfg, pm_rtc_peer **out);
    void *ud;
} pm_sigcl_peer_factory;

typedef enum pm_sigcl_out_kind {
    PM_SIGCL_OUT_SEND = 1, /**< send data[0..len) as one text message */
    PM_SIGCL_OUT_CLOSE,    /**< send what is queued, then close with code and reason */
    PM_SIGCL_OUT_ABORT,    /**< end the connection at once, no close frame (a timeout) */
} pm_sigcl_out_kind;

typedef struct pm_sigcl_output {
    pm_sigcl_out_kind kind;
    int code;            /**< CLOSE */
    const uint8_t *data; /**< SEND: message; CLOSE: reason (not NUL-terminated) */
    size_t len;
} pm_sigcl_output;

/**
 * Create a core for the options of `cfg` (url, ca_file and
 * allow_self_signed are the shell's; lobby and extra_channels are copied;
 * cfg->rtc and cfg->mesh_config are borrowed as signaling.h says, their env
 * NULL = `env`'s). `factory` NULL = pm_rtc_peer_new. The connect timeout
 * runs from `now`. PM_ERR_INVALID for bad options (the URL is not checked
 * here), PM_ERR_NOMEM.
 */
int pm_sigcl_new(const pm_envr *env, const pm_signal_client_config *cfg,
                 const pm_sigcl_peer_factory *factory, pm_time now, pm_sigcl **out);
/** Free the core and its mesh. NULL is fine. No output is produced. */
void pm_sigcl_free(pm_sigcl *c);

/** The transport is open: the core sends its JOIN (OPEN event). */
void pm_sigcl_open(pm_sigcl *c, pm_time now);

/** One complete message from the server (binary ones are ignored). */
void pm_sigcl_receive(pm_sigcl *c, pm_time now, const uint8_t *data, size_t len, bool binary);

/**
 * The transport failed: `err` (a negative pm_err: PM_ERR_REFUSED,
 * PM_ERR_UNREACHABLE, PM_ERR_CRYPTO, ...) and `why` (a sentence) go into
 * the CLOSED event of the pm_sigcl_closed() call that follows. A shell that
 * knows nothing more (a browser) does not call it: a 1006 close then says
 * PM_ERR_IO, "could not connect" or "lost the connection".
 */
void pm_sigcl_failed(pm_sigcl *c, int err, const char *why);

/**
 * The transport is gone (either side closed it, or it never opened):
 * `code`/`reason` from the close frame, 1006/"" when there was none. After
 * that the core ignores transport input and produces no output; after its
 * own ABORT it ignores this call too (it already reported CLOSED).
 */
void pm_sigcl_closed(pm_sigcl *c, pm_time now, int code, const char *reason);

/**
 * Run what is due at `now` (the connect timeout: ABORT and CLOSED
 * "timeout"), poll the mesh, relay its connections' descriptions and
 * candidates. Calling it early is harmless.
 */
void pm_sigcl_timeout(pm_sigcl *c, pm_time now);

/** The earliest of the connect timeout and the mesh's next timeout, or PM_TIME_NEVER. */
pm_time pm_sigcl_next_deadline(const pm_sigcl *c);

/** Next output for the transport; borrowed until the next call. False when none. */
bool pm_sigcl_poll_output(pm_sigcl *c, pm_sigcl_output *out);

/** Next event (see signaling.h); its strings are borrowed until the next call. */
bool pm_sigcl_next_event(pm_sigcl *c, pm_signal_event *ev);

/** Host only: ask the server to seal. PM_ERR_STATE when not joined, not the host, or closing. */
int pm_sigcl_seal(pm_sigcl *c);

/** Close the signaling connection (1000); the mesh lives on. No-op once closing. */
void pm_sigcl_close(pm_sigcl *c);

pm_signal_state pm_sigcl_state(const pm_sigcl *c);
int32_t pm_sigcl_id(const pm_sigcl *c);
/** The lobby's host (1, or the HOST message's); 0 before our id. */
int32_t pm_sigcl_host(const pm_sigcl *c);
const char *pm_sigcl_lobby(const pm_sigcl *c);
bool pm_sigcl_is_mesh_lobby(const pm_sigcl *c);
/** The WebRTC mesh once our id came (NULL before, and with the ENet transport); owned by the core.
 */
pm_mesh *pm_sigcl_mesh(pm_sigcl *c);
/** ENet transport: the ENet mesh once our id came (NULL otherwise); owned by the core. */
pm_enet *pm_sigcl_enet(pm_sigcl *c);
/**
 * ENet transport: one descriptor for its sockets (the hosts of the links
 * being made and the ENet mesh's, pm_enet_fd), readable when any has input;
 * with pm_sigcl_next_deadline() all a shell sleeps on. -1 before the mesh
 * exists (and with the WebRTC transport); then the same until the core is
 * freed.
 */
int pm_sigcl_enet_fd(const pm_sigcl *c);
/** The multiplayer interface of whichever mesh there is, or NULL. */
pm_multiplayer *pm_sigcl_multiplayer(pm_sigcl *c);

#endif
