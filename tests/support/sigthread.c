/* A signaling server serving in a thread of its own (sigthread.h). */
#include "sigthread.h"
#include "testutil.h"

#include <stdio.h>

static void *serve(void *arg)
{
    pm_test_server *ts = arg;
    while (!atomic_load(&ts->stop))
        (void)pm_signal_server_poll(ts->srv, -1);
    return NULL;
}

void pm_test_server_start(pm_test_server *ts, pm_signal_server_config *cfg, char *url, size_t cap)
{
    memset(ts, 0, sizeof *ts);
    cfg->bind_address = "127.0.0.1";
    cfg->port = 0;
    assert_int_equal(pm_signal_server_new(cfg, &ts->srv), PM_OK);
    snprintf(url, cap, "%s://127.0.0.1:%u/", cfg->cert_file ? "wss" : "ws",
             (unsigned)pm_signal_server_port(ts->srv));
    assert_int_equal(pthread_create(&ts->th, NULL, serve, ts), 0);
}

void pm_test_server_stop(pm_test_server *ts)
{
    atomic_store(&ts->stop, 1);
    pm_signal_server_wake(ts->srv); /* the one call allowed from another thread */
    pthread_join(ts->th, NULL);
    pm_signal_server_free(ts->srv);
}
