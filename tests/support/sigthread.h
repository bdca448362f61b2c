/* A signaling server serving in a thread of its own, for tests whose main thread sleeps on
 * client descriptors (the server must keep answering meanwhile). */
#ifndef PM_SIGTHREAD_H
#define PM_SIGTHREAD_H

#include "peermesh/signaling.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct pm_test_server {
    pm_signal_server *srv;
    pthread_t th;
    atomic_int stop;
} pm_test_server;

/** Start `cfg` on 127.0.0.1, any port, in a thread; `url` gets "ws[s]://127.0.0.1:PORT/". */
void pm_test_server_start(pm_test_server *ts, pm_signal_server_config *cfg, char *url, size_t cap);
/** Stop the thread and free the server. */
void pm_test_server_stop(pm_test_server *ts);

#endif
