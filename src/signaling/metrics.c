/*
 * /metrics: names follow prometheus.io/docs/practices/naming (application
 * prefix, _total for counters, base units); labels are low-cardinality only
 * (never peer ids, lobby names or TURN usernames).
 */
#include "signaling/metrics.h"

#define PREFIX "peermesh_signal_"

static int metric(const pm_envr *env, pm_buf *out, const char *name, const char *type,
                  const char *help, uint64_t value)
{
    return pm_buf_printf(env, out,
                         "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n" PREFIX "%s %llu\n",
                         name, help, name, type, name, (unsigned long long)value);
}

static int labelled(const pm_envr *env, pm_buf *out, const char *name, const char *help,
                    const char *label, const char *const *values, const uint64_t *counts, size_t n)
{
    int rc = pm_buf_printf(env, out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s counter\n", name,
                           help, name);
    for (size_t i = 0; rc == PM_OK && i < n; i++)
        rc = pm_buf_printf(env, out, PREFIX "%s{%s=\"%s\"} %llu\n", name, label, values[i],
                           (unsigned long long)counts[i]);
    return rc;
}

/* A cluster's: this node's link and relays, and the cluster's lobbies and
 * members as of the last heartbeat (all zero on one node). */
static int cluster_metrics(const pm_envr *env, const pm_signal_server_stats *st, pm_buf *out)
{
    const struct {
        const char *name, *type, *help;
        uint64_t v;
    } m[] = {
        {"cluster_up", "gauge", "1 while the link to Redis is up.", st->cluster_up},
        {"cluster_nodes", "gauge", "Nodes of the cluster alive.", st->cluster_nodes},
        {"cluster_lobbies", "gauge", "Lobbies in the cluster.", st->cluster_lobbies},
        {"cluster_members", "gauge", "Peers in the cluster's lobbies.", st->cluster_members},
        {"cluster_relays_out_total", "counter", "Messages relayed to members on other nodes.",
         st->cluster_relays_out},
        {"cluster_relays_in_total", "counter", "Messages from other nodes for members here.",
         st->cluster_relays_in},
        {"cluster_relays_lost_total", "counter",
         "Relays between nodes lost (link down, member gone).", st->cluster_relays_lost},
        {"cluster_resyncs_total", "counter", "Lobby replicas checked against Redis.",
         st->cluster_resyncs},
        {"cluster_lost_total", "counter", "Members closed with 4005.", st->cluster_lost},
        {"cluster_dead_nodes_total", "counter", "Dead nodes whose members this node let go.",
         st->cluster_dead_nodes},
    };
    int rc = PM_OK;
    for (size_t i = 0; rc == PM_OK && i < PM_ARRAY_LEN(m); i++)
        rc = metric(env, out, m[i].name, m[i].type, m[i].help, m[i].v);
    return rc;
}

int pm_sig_metrics_format(const pm_envr *env, const pm_signal_server_stats *st, int64_t start_unix,
                          pm_buf *out)
{
    static const char *const relay_types[] = {"offer", "answer", "candidate"};
    static const char *const reasons[] = {"protocol", "auth", "rate",
                                          "address",  "size", "ping_timeout"};
    const uint64_t rejections[] = {st->rejected_protocol, st->rejected_auth, st->rejected_rate,
                                   st->rejected_address,  st->rejected_size, st->ping_timeouts};
    int rc =
        pm_buf_printf(env, out,
                      "# HELP " PREFIX "build_info Build of the server.\n"
                      "# TYPE " PREFIX "build_info gauge\n" PREFIX "build_info{version=\"%s\"} 1\n",
                      PM_VERSION_STRING);
    if (rc == PM_OK)
        rc = metric(env, out, "start_time_seconds", "gauge", "Unix time the server started.",
                    (uint64_t)start_unix);
    if (rc == PM_OK)
        rc = metric(env, out, "connections", "gauge", "WebSocket connections open now.",
                    st->connections);
    if (rc == PM_OK)
        rc = metric(env, out, "connections_total", "counter", "WebSocket connections accepted.",
                    st->connections_total);
    if (rc == PM_OK)
        rc = metric(env, out, "lobbies", "gauge", "Lobbies open now.", st->lobbies);
    if (rc == PM_OK)
        rc = metric(env, out, "lobbies_created_total", "counter", "Lobbies created.",
                    st->lobbies_total);
    if (rc == PM_OK)
        rc =
            metric(env, out, "lobby_peers", "gauge", "Peers in a lobby now.", st->peers_in_lobbies);
    if (rc == PM_OK)
        rc = labelled(env, out, "messages_relayed_total", "Messages relayed between peers.", "type",
                      relay_types, st->relayed, 3);
    if (rc == PM_OK)
        rc = metric(env, out, "relayed_bytes_total", "counter", "Payload bytes relayed.",
                    st->relayed_bytes);
    if (rc == PM_OK)
        rc = metric(env, out, "messages_received_total", "counter", "Messages received.",
                    st->messages_in);
    if (rc == PM_OK)
        rc = metric(env, out, "messages_sent_total", "counter", "Messages sent.", st->messages_out);
    if (rc == PM_OK)
        rc = labelled(env, out, "rejections_total", "Connections closed for a violation.", "reason",
                      reasons, rejections, PM_ARRAY_LEN(reasons));
    if (rc == PM_OK)
        rc = metric(env, out, "seals_total", "counter", "Lobbies sealed.", st->seals);
    if (rc == PM_OK)
        rc = metric(env, out, "host_migrations_total", "counter",
                    "Lobbies whose host left and another took over.", st->host_migrations);
    if (rc == PM_OK)
        rc = cluster_metrics(env, st, out);
    if (rc == PM_OK)
        rc = metric(env, out, "turn_credentials_issued_total", "counter",
                    "TURN REST credentials handed out.", st->turn_credentials);
    return rc;
}
