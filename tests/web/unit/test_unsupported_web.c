/*
 * What a web page cannot do, in the WebAssembly build, under Node.js: ENet,
 * the WebSocket multiplayer peer and the signaling server refuse to be
 * created with PM_ERR_UNSUPPORTED (enet.h, websocket.h, signaling.h); there are no
 * descriptors to wait on (pm_wait, pm_mesh_fd, pm_enet_fd: common.h); what needs no socket
 * works as natively (the server's configuration defaults, join tokens, the enums' names).
 */
#include "check.h"
#include "peermesh/enet.h"
#include "peermesh/mesh.h"
#include "peermesh/signaling.h"
#include "peermesh/websocket.h"

#include <string.h>

int main(void)
{
    pm_enet_host *host = (pm_enet_host *)1;
    CHECK_EQ(pm_enet_host_create(NULL, 4, 2, 0, 0, &host), PM_ERR_UNSUPPORTED);
    CHECK(host == NULL);
    pm_enet_config ecfg;
    pm_enet_config_default(&ecfg);
    CHECK_EQ(ecfg.format, PM_ENET_FORMAT_GODOT3);
    pm_enet *e = (pm_enet *)1;
    CHECK_EQ(pm_enet_new(&ecfg, &e), PM_ERR_UNSUPPORTED);
    CHECK(e == NULL);
    CHECK(pm_enet_multiplayer(NULL) == NULL);

    pm_websocket_config wcfg;
    pm_websocket_config_default(&wcfg);
    CHECK_EQ(wcfg.max_packet, PM_WEBSOCKET_DEFAULT_MAX_PACKET);
    pm_websocket *ws = (pm_websocket *)1;
    CHECK_EQ(pm_websocket_new(&wcfg, &ws), PM_ERR_UNSUPPORTED);
    CHECK(ws == NULL);
    CHECK(pm_websocket_multiplayer(NULL) == NULL);

    pm_signal_server_config scfg;
    pm_signal_server_config_default(&scfg);
    CHECK_EQ(scfg.port, 9080);
    CHECK_EQ(scfg.max_peers, 4096);
    pm_signal_server *srv = (pm_signal_server *)1;
    CHECK_EQ(pm_signal_server_new(&scfg, &srv), PM_ERR_UNSUPPORTED);
    CHECK(srv == NULL);
    CHECK_EQ(pm_signal_server_poll(NULL, 0), PM_ERR_UNSUPPORTED);

    /* One way to wait has no descriptor in a page: the browser's animation frame drives it. */
    CHECK_EQ(pm_wait(-1, pm_now()), PM_ERR_UNSUPPORTED);
    pm_mesh *mesh = NULL;
    CHECK_EQ(pm_mesh_new(NULL, &mesh), PM_OK);
    CHECK_EQ(pm_mesh_fd(mesh), PM_ERR_UNSUPPORTED);
    CHECK_EQ(pm_mesh_next_timeout(mesh), PM_TIME_NEVER);
    pm_mesh_free(mesh);
    CHECK_EQ(pm_enet_fd(NULL), PM_ERR_UNSUPPORTED);
    CHECK_EQ(pm_enet_next_timeout(NULL), PM_TIME_NEVER);
    CHECK(strcmp(scfg.bind_address, "127.0.0.1") == 0);
    CHECK(strcmp(pm_enet_peer_state_to_string(PM_ENET_PEER_CONNECTED), "connected") == 0);
    CHECK(strcmp(pm_rtc_state_to_string(PM_RTC_STATE_CONNECTED), "connected") == 0);
    CHECK(strcmp(pm_signal_event_type_to_string(PM_SIGNAL_EVENT_JOINED), "joined") == 0);

    char token[128];
    CHECK_EQ(pm_signal_token_make("secret", "alice", 2000000000, token, sizeof token), PM_OK);
    /* HMAC-SHA1("secret", "2000000000:alice"), as Python's hmac module computes it. */
    CHECK(strcmp(token, "2000000000:alice:80194c6884d7efc5c98fba16a62c6f797f706cc0") == 0);
    return check_summary("test_unsupported_web");
}
