/* A throwaway self-signed certificate for TLS tests (OpenSSL as an oracle). */
#ifndef PM_TESTCERT_H
#define PM_TESTCERT_H

/** Write a P-256 certificate for CN 127.0.0.1, valid one hour, and its key, as PEM. */
void pm_test_write_self_signed(const char *cert_path, const char *key_path);

#endif
