/* A throwaway self-signed certificate for wss:// tests (tls_cert.h). */
#include <stdbool.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls_cert.h"

bool pm_test_write_self_signed(const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = key && x;
    if (ok) {
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        ok = X509_sign(x, key, EVP_sha256()) > 0;
    }
    FILE *f = ok ? fopen(cert_path, "w") : NULL;
    ok = f && PEM_write_X509(f, x);
    if (f)
        fclose(f);
    f = ok ? fopen(key_path, "w") : NULL;
    ok = f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (f)
        fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}
