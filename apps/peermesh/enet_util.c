/* Shared pieces of the ENet subcommands (see enet_util.h). */
#include "enet_util.h"

#include "bench_stats.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pm_cli_enet_parse_format(const char *text, pm_enet_format *out)
{
    if (strcmp(text, "godot3") == 0)
        *out = PM_ENET_FORMAT_GODOT3;
    else if (strcmp(text, "godot4") == 0)
        *out = PM_ENET_FORMAT_GODOT4;
    else
        return false;
    return true;
}

const char *pm_cli_enet_format_name(pm_enet_format fmt)
{
    return fmt == PM_ENET_FORMAT_GODOT4 ? "godot4" : "godot3";
}

bool pm_cli_parse_hostport(const char *text, char *ip, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= cap)
        return false;
    memcpy(ip, text, (size_t)(colon - text));
    ip[colon - text] = '\0';
    long p;
    pm_addr a;
    if (!pm_cli_parse_long(colon + 1, 1, 65535, &p) || pm_addr_parse(&a, ip, 0) != PM_OK ||
        a.family != 4)
        return false;
    *port = (uint16_t)p;
    return true;
}

int pm_cli_enet_echo(pm_multiplayer *mp, const pm_mp_packet *p)
{
    pm_mp_set_target_peer(mp, p->from);
    pm_mp_set_transfer_mode(mp, p->mode);
    pm_mp_set_transfer_channel(mp, p->channel);
    return pm_mp_put_packet(mp, p->data, p->len);
}

int pm_cli_probe_init(pm_cli_probe *pr, size_t size, int command, pm_mp_transfer_mode mode,
                      long total, long window, pm_time packet_timeout)
{
    *pr = (pm_cli_probe){.size = size < PM_CLI_PROBE_MIN_SIZE ? PM_CLI_PROBE_MIN_SIZE : size,
                         .command = command,
                         .mode = mode,
                         .total = total,
                         .window = window > 0 ? window : 1,
                         .packet_timeout = packet_timeout};
    pr->sent_at = calloc((size_t)(total > 0 ? total : 1), sizeof *pr->sent_at);
    pr->rtt = calloc((size_t)(total > 0 ? total : 1), sizeof *pr->rtt);
    pr->buf = malloc(pr->size + 1);
    if (!pr->sent_at || !pr->rtt || !pr->buf) {
        pm_cli_probe_free(pr);
        return PM_ERR_NOMEM;
    }
    for (size_t i = 0; i < pr->size + 1; i++)
        pr->buf[i] = (uint8_t)('a' + i % 26);
    return PM_OK;
}

void pm_cli_probe_free(pm_cli_probe *pr)
{
    free(pr->sent_at);
    free(pr->rtt);
    free(pr->buf);
    pr->sent_at = pr->rtt = NULL;
    pr->buf = NULL;
}

static void expire(pm_cli_probe *pr, pm_time now)
{
    while (pr->oldest < pr->sent) {
        pm_time t = pr->sent_at[pr->oldest];
        if (t && now - t < pr->packet_timeout)
            return; /* sent in order: everything after it is younger */
        if (t) {
            pr->sent_at[pr->oldest] = 0;
            pr->lost++;
            pr->in_flight--;
        }
        pr->oldest++;
    }
}

int pm_cli_probe_step(pm_cli_probe *pr, pm_multiplayer *mp, pm_time now)
{
    expire(pr, now);
    pm_mp_set_target_peer(mp, 1);
    pm_mp_set_transfer_mode(mp, pr->mode);
    pm_mp_set_transfer_channel(mp, 0);
    size_t off = pr->command >= 0 ? 1 : 0;
    if (off)
        pr->buf[0] = (uint8_t)pr->command;
    while (pr->sent < pr->total && pr->in_flight < pr->window) {
        uint32_t seq = (uint32_t)pr->sent;
        pr->buf[off] = (uint8_t)seq;
        pr->buf[off + 1] = (uint8_t)(seq >> 8);
        pr->buf[off + 2] = (uint8_t)(seq >> 16);
        pr->buf[off + 3] = (uint8_t)(seq >> 24);
        pr->buf[off + 4] = (uint8_t)pr->mode;
        int rc = pm_mp_put_packet(mp, pr->buf, off + pr->size);
        if (rc < 0)
            return rc;
        pr->sent_at[pr->sent] = now ? now : 1;
        pr->sent++;
        pr->in_flight++;
    }
    return PM_OK;
}

bool pm_cli_probe_on_packet(pm_cli_probe *pr, const pm_mp_packet *p, pm_time now)
{
    size_t off = pr->command >= 0 ? 1 : 0;
    if (p->len != off + pr->size || (off && p->data[0] != (uint8_t)pr->command))
        return false;
    const uint8_t *d = p->data + off;
    long seq =
        (long)((uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24);
    if (seq >= pr->sent || !pr->sent_at[seq])
        return false; /* unknown, duplicate or already counted lost */
    pr->rtt[pr->received++] = now - pr->sent_at[seq];
    pr->sent_at[seq] = 0;
    pr->in_flight--;
    pr->bytes_echoed += pr->size;
    return true;
}

bool pm_cli_probe_done(const pm_cli_probe *pr)
{
    return pr->sent == pr->total && pr->in_flight == 0;
}

void pm_cli_probe_rtt_ms(pm_cli_probe *pr, double *min, double *median, double *p99)
{
    size_t n = (size_t)pr->received;
    *min = *median = *p99 = 0;
    if (!n)
        return;
    pm_cli_sort_times(pr->rtt, n);
    *min = (double)pr->rtt[0] / 1000.0;
    *median = pm_cli_median(pr->rtt, n) / 1000.0;
    *p99 = (double)pm_cli_percentile(pr->rtt, n, 99) / 1000.0;
}
