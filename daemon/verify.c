/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "url-strip.h"
#include "util.h"
#include "verify.h"

static const char *const source_names[] = {
        "checksum", "checksum-list", "repr-digest", "content-digest", "digest", "size",
};

const char *verify_source_to_string(VerifySource s) {
        for (size_t i = 0; i < ELEMENTSOF(source_names); i++)
                if (s == (VerifySource) (1u << i))
                        return source_names[i];
        return NULL;
}

VerifySource verify_source_from_string(const char *s) {
        assert(s);

        int i = string_table_lookup(source_names, ELEMENTSOF(source_names), s);
        return i < 0 ? 0 : (VerifySource) (1u << i);
}

VerifySource verify_source_of_field(ServerDigestField f) {
        switch (f) {
        case SERVER_DIGEST_REPR:
                return VERIFY_BY_REPR_DIGEST;
        case SERVER_DIGEST_CONTENT:
                return VERIFY_BY_CONTENT_DIGEST;
        case SERVER_DIGEST_LEGACY:
                return VERIFY_BY_DIGEST;
        default:
                return 0;
        }
}

static bool server_applies(const VerifyExpect *e) {
        return e->server && !e->server->partial;
}

unsigned verify_algorithms_needed(const VerifyExpect *e) {
        unsigned mask = 0;

        assert(e);
        if (e->expected)
                mask |= DIGEST_ALGORITHM_BIT(e->expected->algorithm);
        if (server_applies(e))
                mask |= DIGEST_ALGORITHM_BIT(e->server->digest.algorithm);
        return mask;
}

static const char *expected_noun(VerifySource s) {
        return s == VERIFY_BY_CHECKSUM_LIST ? "the digest of the signed checksum list" : "its checksum";
}

int verify_judge(const VerifyExpect *e, const char *url, uint64_t size, Hasher *h, VerifyVerdict *ret) {
        char want[DIGEST_STRING_MAX], got[DIGEST_STRING_MAX];
        Digest computed;
        int r;

        assert(e);
        assert(url);
        assert(h || verify_algorithms_needed(e) == 0);
        assert(ret);
        assert(!e->expected || e->expected_source == VERIFY_BY_CHECKSUM ||
               e->expected_source == VERIFY_BY_CHECKSUM_LIST);

        *ret = (VerifyVerdict) { .ok = false };

        if (e->expected_size != UINT64_MAX) {
                if (size != e->expected_size) {
                        snprintf(ret->message, sizeof ret->message,
                                 "The file from %s has %" PRIu64 " bytes, but %" PRIu64 " were expected.",
                                 URL_SHOWN(url), size, e->expected_size);
                        ret->summary = "The file does not have the expected size";
                        return 0;
                }
                ret->by |= VERIFY_BY_SIZE;
        }

        if (e->expected) {
                r = hasher_get_digest(h, e->expected->algorithm, &computed);
                if (r < 0)
                        return r;
                if (!digest_equal(&computed, e->expected)) {
                        snprintf(ret->message, sizeof ret->message,
                                 "The file from %s does not match %s: expected %s, got %s.", URL_SHOWN(url),
                                 expected_noun(e->expected_source), digest_to_string(e->expected, want),
                                 digest_to_string(&computed, got));
                        ret->summary = e->expected_source == VERIFY_BY_CHECKSUM_LIST
                                ? "The file does not match the signed checksum list"
                                : "The file does not match its checksum";
                        return 0;
                }
                ret->by |= e->expected_source;
                ret->digest = computed;
                ret->has_digest = true;
        }

        if (server_applies(e)) {
                r = hasher_get_digest(h, e->server->digest.algorithm, &computed);
                if (r < 0)
                        return r;
                if (!digest_equal(&computed, &e->server->digest)) {
                        snprintf(ret->message, sizeof ret->message,
                                 "The file from %s does not match the %s the server sent: expected %s, got %s.",
                                 URL_SHOWN(url), server_digest_field_to_string(e->server->field),
                                 digest_to_string(&e->server->digest, want), digest_to_string(&computed, got));
                        ret->summary = "The file does not match the digest the server sent";
                        return 0;
                }
                ret->by |= verify_source_of_field(e->server->field);
                if (!ret->has_digest) {
                        ret->digest = computed;
                        ret->has_digest = true;
                }
        }

        ret->ok = true;
        return 0;
}
