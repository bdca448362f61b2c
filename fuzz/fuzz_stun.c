/* libFuzzer target: STUN codec. Parse arbitrary bytes; when they parse,
 * verify integrity with a fixed key, re-encode the decoded attributes and
 * check the re-encoding parses back to the same values. */
#include "wire/stun.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void same_addr(bool has, const pm_addr *a, bool has2, const pm_addr *b)
{
    check(has == has2);
    if (has)
        check(pm_addr_equal(a, b));
}

static void same_bytes(pm_stun_bytes a, pm_stun_bytes b)
{
    check(a.len == b.len);
    if (a.len)
        check(memcmp(a.p, b.p, a.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)pm_stun_is_stun(data, size);
    pm_stun_msg m;
    if (pm_stun_parse(&m, data, size) != PM_OK)
        return 0;
    check(pm_stun_is_stun(data, size));
    int irc = pm_stun_check_integrity(&m, key, sizeof key - 1);
    check(irc == PM_OK || irc == PM_ERR_AUTH || irc == PM_ERR_NOT_FOUND);
    check((irc == PM_ERR_NOT_FOUND) == (m.integrity_off == 0));

    static uint8_t out[70000];
    pm_stun_builder b;
    pm_stun_begin(&b, out, sizeof out, m.type, m.tid);
    if (m.has_xor_mapped)
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &m.xor_mapped);
    if (m.has_mapped)
        pm_stun_add_addr(&b, PM_STUN_ATTR_MAPPED_ADDRESS, &m.mapped);
    if (m.has_xor_relayed)
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_RELAYED_ADDRESS, &m.xor_relayed);
    if (m.has_xor_peer)
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, &m.xor_peer);
    if (m.has_username)
        pm_stun_add(&b, PM_STUN_ATTR_USERNAME, m.username.p, m.username.len);
    if (m.has_realm)
        pm_stun_add(&b, PM_STUN_ATTR_REALM, m.realm.p, m.realm.len);
    if (m.has_nonce)
        pm_stun_add(&b, PM_STUN_ATTR_NONCE, m.nonce.p, m.nonce.len);
    if (m.has_data)
        pm_stun_add(&b, PM_STUN_ATTR_DATA, m.data.p, m.data.len);
    if (m.has_priority)
        pm_stun_add_u32(&b, PM_STUN_ATTR_PRIORITY, m.priority);
    if (m.use_candidate)
        pm_stun_add_flag(&b, PM_STUN_ATTR_USE_CANDIDATE);
    if (m.has_controlling)
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLING, m.controlling);
    if (m.has_controlled)
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLED, m.controlled);
    if (m.has_lifetime)
        pm_stun_add_u32(&b, PM_STUN_ATTR_LIFETIME, m.lifetime);
    if (m.has_channel)
        pm_stun_add_channel(&b, m.channel);
    if (m.unknown_count)
        pm_stun_add_unknown(&b, m.unknown, m.unknown_count);
    int n = pm_stun_finish(&b, key, sizeof key - 1, true);
    check(n > 0);

    pm_stun_msg m2;
    check(pm_stun_parse(&m2, out, (size_t)n) == PM_OK);
    check(m2.type == m.type && memcmp(m2.tid, m.tid, 12) == 0);
    check(m2.has_fingerprint);
    check(pm_stun_check_integrity(&m2, key, sizeof key - 1) == PM_OK);
    same_addr(m.has_xor_mapped, &m.xor_mapped, m2.has_xor_mapped, &m2.xor_mapped);
    same_addr(m.has_mapped, &m.mapped, m2.has_mapped, &m2.mapped);
    same_addr(m.has_xor_relayed, &m.xor_relayed, m2.has_xor_relayed, &m2.xor_relayed);
    same_addr(m.has_xor_peer, &m.xor_peer, m2.has_xor_peer, &m2.xor_peer);
    same_bytes(m.username, m2.username);
    same_bytes(m.realm, m2.realm);
    same_bytes(m.nonce, m2.nonce);
    same_bytes(m.data, m2.data);
    check(m.has_priority == m2.has_priority && m.priority == m2.priority);
    check(m.use_candidate == m2.use_candidate);
    check(m.controlling == m2.controlling && m.controlled == m2.controlled);
    check(m.lifetime == m2.lifetime && m.channel == m2.channel);
    check(m2.unknown_count == 0);
    return 0;
}
