/*
 * hello-pair: two WebRTC peers and one data channel, the offer and the answer carried by hand
 * (copy and paste) between two terminals. See README.md.
 *
 *   hello-pair offer [BIND_IP]    prints an offer, reads the answer, says hello
 *   hello-pair answer [BIND_IP]   reads an offer, prints the answer, says hello
 */
#include <peermesh/peermesh.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pm_rtc_peer *peer;
static pm_rtc_channel *channel;
static char sdp[16384]; /* our description, our candidates appended */
static int received;    /* messages from the other side */
static pm_time linger_end;

/* Take the peer's events: our description and candidates, the channel, messages. */
static void handle_events(void)
{
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(peer, &ev)) {
        if (ev.type == PM_RTC_EVENT_DESCRIPTION)
            snprintf(sdp, sizeof sdp, "%s", ev.sdp);
        if (ev.type == PM_RTC_EVENT_CANDIDATE && ev.candidate[0]) /* "" ends gathering */
            snprintf(sdp + strlen(sdp), sizeof sdp - strlen(sdp), "a=%s\r\n", ev.candidate);
        if (ev.type == PM_RTC_EVENT_DATA_CHANNEL)
            channel = ev.channel; /* the answerer gets the offerer's channel */
        if (ev.type == PM_RTC_EVENT_CHANNEL_MESSAGE) {
            const uint8_t *data;
            size_t len;
            while (pm_rtc_channel_get_packet(ev.channel, &data, &len) == PM_OK && ++received)
                fprintf(stderr, "received: %.*s\n", (int)len, (const char *)data);
        }
    }
}

/* Drive the peer until `done` (or 30 s): sleep until it has work, poll, take its events. */
static int run_until(int (*done)(void))
{
    pm_time end = pm_now() + PM_SEC(30);
    for (handle_events(); !done(); handle_events()) {
        if (pm_now() > end || pm_rtc_peer_get_state(peer) == PM_RTC_STATE_FAILED)
            return -1;
        pm_wait(pm_rtc_peer_fd(peer), pm_rtc_peer_next_timeout(peer));
        pm_rtc_peer_poll(peer);
    }
    return 0;
}

static int gathered(void)
{
    return pm_rtc_peer_get_gathering_state(peer) == PM_RTC_GATHERING_COMPLETE;
}

static int channel_open(void)
{
    return channel && pm_rtc_channel_get_ready_state(channel) == PM_RTC_CHANNEL_OPEN;
}

static int message_came(void)
{
    return received > 0 && pm_now() >= linger_end;
}

/* Print our description and candidates as one block (to stdout), ended by an empty line. */
static void print_block(void)
{
    for (const char *p = sdp; *p; p++)
        if (*p != '\r')
            putchar(*p);
    printf("\n");
    fflush(stdout);
}

/* Read a block pasted by the user (or piped), up to an empty line. */
static void read_block(char *out, size_t cap)
{
    char line[1024];
    size_t n = 0;
    while (fgets(line, sizeof line, stdin) && line[0] != '\n' && line[0] != '\r') {
        line[strcspn(line, "\r\n")] = 0;
        n += (size_t)snprintf(out + n, cap - n, "%s\r\n", line);
        if (n >= cap)
            break;
    }
}

int main(int argc, char **argv)
{
    int offering = argc > 1 && strcmp(argv[1], "offer") == 0;
    if (argc < 2 || (!offering && strcmp(argv[1], "answer") != 0)) {
        fprintf(stderr, "usage: hello-pair offer|answer [BIND_IP]\n");
        return 64;
    }
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = argc > 2 ? argv[2] : NULL; /* NULL: every interface */
    int rc = pm_rtc_peer_new(&cfg, &peer);
    if (rc != PM_OK) {
        fprintf(stderr, "hello-pair: cannot create a peer: %s\n", pm_strerror(rc));
        return 1;
    }
    char remote[16384];
    if (offering) {
        pm_rtc_channel_init init;
        pm_rtc_channel_init_default(&init);
        pm_rtc_peer_create_channel(peer, "hello", &init, &channel);
        pm_rtc_peer_create_offer(peer);
        if (run_until(gathered) != 0)
            return 1;
        fprintf(stderr, "Copy the offer below into `hello-pair answer`, then paste its answer "
                        "here (end with an empty line):\n");
        print_block();
        read_block(remote, sizeof remote);
        rc = pm_rtc_peer_set_remote_description(peer, "answer", remote);
    } else {
        fprintf(stderr, "Paste the offer of `hello-pair offer` (end with an empty line):\n");
        read_block(remote, sizeof remote);
        rc = pm_rtc_peer_set_remote_description(peer, "offer", remote);
        if (rc == PM_OK && run_until(gathered) == 0) {
            fprintf(stderr, "Copy the answer below into `hello-pair offer`:\n");
            print_block();
        }
    }
    if (rc != PM_OK) {
        fprintf(stderr, "hello-pair: the pasted description is not usable: %s\n", pm_strerror(rc));
        return 1;
    }
    if (run_until(channel_open) != 0) {
        fprintf(stderr, "hello-pair: no connection within 30 s\n");
        return 1;
    }
    char hello[64];
    snprintf(hello, sizeof hello, "hello from the %s side", offering ? "offering" : "answering");
    pm_rtc_channel_put_packet(channel, (const uint8_t *)hello, strlen(hello));
    linger_end = pm_now() + PM_MS(300); /* a moment for our hello to be acknowledged, too */
    rc = run_until(message_came);
    pm_rtc_peer_free(peer); /* closes the channel and the connection */
    return rc == 0 ? 0 : 1;
}
