/* A throwaway self-signed certificate for wss:// tests. */
#ifndef PM_TEST_TLS_CERT_H
#define PM_TEST_TLS_CERT_H

#include <stdbool.h>

/** Write a P-256 self-signed certificate for CN=127.0.0.1 and its key (PEM); false on failure. */
bool pm_test_write_self_signed(const char *cert_path, const char *key_path);

#endif
