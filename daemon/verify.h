/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The verdict on a downloaded file: do its bytes match what was expected of them — the
 * client's checksum or the digest a signed checksum list gives, the expected size, and the
 * whole-file digest the server sent (Repr-Digest, or Content-Digest of a 200, or Digest)?
 * Pure: it reads digests from a Hasher that has seen every byte, and says which algorithms
 * that Hasher needs. */

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "server-digest.h"

/* What checked out, as a mask; the names are those of the bus ("checksum", …). */
typedef enum VerifySource {
        VERIFY_BY_CHECKSUM       = 1u << 0,   /* the client's checksum option */
        VERIFY_BY_CHECKSUM_LIST  = 1u << 1,   /* a signed checksum list */
        VERIFY_BY_REPR_DIGEST    = 1u << 2,   /* the server's Repr-Digest */
        VERIFY_BY_CONTENT_DIGEST = 1u << 3,   /* the server's Content-Digest */
        VERIFY_BY_DIGEST         = 1u << 4,   /* the server's Digest (RFC 3230) */
        VERIFY_BY_SIZE           = 1u << 5,   /* the expected size */
        _VERIFY_SOURCE_ALL       = (1u << 6) - 1,
} VerifySource;

/* "checksum", "checksum-list", "repr-digest", "content-digest", "digest", "size" for one bit. */
const char *verify_source_to_string(VerifySource s);
VerifySource verify_source_from_string(const char *s);  /* 0 when unknown */
VerifySource verify_source_of_field(ServerDigestField f);

typedef struct VerifyExpect {
        const Digest *expected;          /* NULL: none */
        VerifySource expected_source;    /* VERIFY_BY_CHECKSUM or VERIFY_BY_CHECKSUM_LIST */
        uint64_t expected_size;          /* UINT64_MAX: none */
        const ServerDigest *server;      /* NULL: none; a partial one is the transfer's to check */
} VerifyExpect;

/* The algorithms a Hasher must compute over the whole file for verify_judge(). */
unsigned verify_algorithms_needed(const VerifyExpect *e);

typedef struct VerifyVerdict {
        bool ok;
        VerifySource by;                 /* what checked out (0: nothing was expected) */
        bool has_digest;
        Digest digest;                   /* the verified digest: the expected one, else the server's */
        char message[768];               /* on failure: the URL, what was expected and what came */
        const char *summary;             /* on failure: the same without URL, for signals */
} VerifyVerdict;

/* Judges a file of `size` bytes from url (a failure's message names it stripped, url-strip.h),
 * whose bytes h has seen (all of them: the caller checks hasher_get_size(h) == size; h may be
 * NULL when no algorithm is needed). The first mismatch decides, in the order size, expected
 * digest, server digest. -ENOENT when h lacks an algorithm verify_algorithms_needed() named. */
int verify_judge(const VerifyExpect *e, const char *url, uint64_t size, Hasher *h, VerifyVerdict *ret);
