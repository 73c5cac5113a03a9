/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest-set.h"
#include "hashes.h"
#include "util.h"

static const struct {
        const char *name;
        size_t hex_len;
        const char *evp;
} hash_info[_HASH_MAX] = {
        [HASH_MD5] = { "MD5Sum", 32, "MD5" },
        [HASH_SHA1] = { "SHA1", 40, "SHA1" },
        [HASH_SHA256] = { "SHA256", 64, "SHA256" },
        [HASH_SHA512] = { "SHA512", 128, "SHA512" },
};

static bool is_hex(const char *s, size_t len) {
        if (strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

int hash_list_from_acquire(HashList *ret, const Message *m) {
        HashList l = { 0 };
        const char *v;

        assert(ret);
        assert(m);

        for (HashType t = 0; t < _HASH_MAX; t++) {
                char field[64];

                snprintf(field, sizeof field, "Expected-%s", hash_info[t].name);
                v = message_get(m, field);
                if (isempty(v))
                        continue;
                if (!is_hex(v, hash_info[t].hex_len))
                        return -EBADMSG;
                for (size_t i = 0; v[i]; i++)
                        l.hex[t][i] = (char) tolower((unsigned char) v[i]);
        }
        v = message_get(m, "Expected-Checksum-FileSize");
        if (!isempty(v)) {
                if (parse_uint64(v, UINT64_MAX, &l.size) < 0)
                        return -EBADMSG;
                l.have_size = true;
        }
        *ret = l;
        return 0;
}

bool hash_list_usable(const HashList *l) {
        assert(l);
        return l->hex[HASH_SHA256][0] || l->hex[HASH_SHA512][0];
}

unsigned hash_list_wanted(const HashList *expected) {
        unsigned types = 0;

        assert(expected);
        if (!hash_list_usable(expected))
                return (1u << _HASH_MAX) - 1;
        for (HashType t = 0; t < _HASH_MAX; t++)
                if (expected->hex[t][0])
                        types |= 1u << t;
        return types;
}

bool hash_list_matches(const HashList *expected, const HashList *got) {
        unsigned common = 0;

        assert(expected);
        assert(got);

        if (expected->have_size && got->have_size) {
                if (expected->size != got->size)
                        return false;
                common++;
        }
        for (HashType t = 0; t < _HASH_MAX; t++) {
                if (!expected->hex[t][0] || !got->hex[t][0])
                        continue;
                if (!streq(expected->hex[t], got->hex[t]))
                        return false;
                common++;
        }
        return common > 0;
}

const char *hash_list_checksum(const HashList *l, char *buf, size_t size) {
        assert(l);
        assert(buf);

        if (l->hex[HASH_SHA512][0])
                snprintf(buf, size, "sha512:%s", l->hex[HASH_SHA512]);
        else if (l->hex[HASH_SHA256][0])
                snprintf(buf, size, "sha256:%s", l->hex[HASH_SHA256]);
        else
                return NULL;
        return buf;
}

void hash_list_to_message(const HashList *l, MessageOut *o) {
        char field[64];

        assert(l);
        assert(o);

        for (HashType t = 0; t < _HASH_MAX; t++) {
                if (!l->hex[t][0])
                        continue;
                /* apt's oldest name for the MD5 sum, which apt still sends along. */
                if (t == HASH_MD5)
                        message_out_add(o, "MD5-Hash", l->hex[t]);
                snprintf(field, sizeof field, "%s-Hash", hash_info[t].name);
                message_out_add(o, field, l->hex[t]);
        }
        if (l->have_size)
                message_out_addf(o, "Checksum-FileSize-Hash", "%" PRIu64, l->size);
}

/* ---- hashing ------------------------------------------------------------------------------ */

/* A slot of the set for each hash type: HashType numbers them. */
static_assert(_HASH_MAX <= DIGEST_SET_SLOTS, "a digest set slot for each hash type");

struct Hasher {
        DigestSet set;
};

Hasher *hasher_free(Hasher *h) {
        if (!h)
                return NULL;
        digest_set_done(&h->set);
        return mfree(h);
}

int hasher_new(Hasher **ret, unsigned types) {
        _cleanup_(hasher_freep) Hasher *h = NULL;
        int r;

        assert(ret);

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        for (HashType t = 0; t < _HASH_MAX; t++) {
                if (!(types & (1u << t)))
                        continue;
                /* The default provider has MD5 and SHA-1 too; a FIPS-only system does not. */
                const EVP_MD *md = EVP_get_digestbyname(hash_info[t].evp);
                r = md ? digest_set_start(&h->set, t, md) : -EOPNOTSUPP;
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(h);
        return 0;
}

int hasher_update(Hasher *h, const void *data, size_t n) {
        assert(h);
        return digest_set_update(&h->set, data, n);
}

int hasher_finish(Hasher *h, HashList *ret) {
        HashList l = { .have_size = true, .size = h->set.size };
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len;

        assert(h);
        assert(ret);

        for (HashType t = 0; t < _HASH_MAX; t++) {
                if (!h->set.ctx[t])
                        continue;
                if (digest_set_peek(&h->set, t, md, &len) < 0)
                        return -EIO;
                for (unsigned i = 0; i < len && 2 * i + 2 < HASH_HEX_MAX; i++)
                        snprintf(l.hex[t] + 2 * i, 3, "%02x", md[i]);
        }
        *ret = l;
        return 0;
}
