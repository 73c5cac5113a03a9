/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the body of a download must satisfy, checked as it arrives (transfer.c owns one per
 * Transfer): the expected size or a cap, before a byte lands; every byte written fed to the
 * owner's HashStream in the buffers they were written from, in file order; the digest fields of the response, of which a whole-file one
 * is hashed along and handed on and a Content-Digest of a 206, which covers only its range,
 * is checked here. The first failure is kept as a sentence for ErrorMessage. */

#include <stdbool.h>
#include <stdint.h>

#include "body-buffer.h"
#include "digest.h"
#include "hash-stream.h"
#include "server-digest.h"

typedef struct BodyCheck {
        HashStream *stream;             /* the owner's, told how far the file is written; or NULL */
        bool expect_size;
        uint64_t expected_size;
        uint64_t max_size;              /* 0: no cap */

        ServerDigests digests;          /* the digest fields of the response being parsed */
        bool have_server_digest;
        ServerDigest server_digest;     /* a whole-file one, for the owner to check */
        Hasher *range_hasher;           /* ours, for a Content-Digest of a 206; a writer task
                                         * holds it while it runs and hashes what it writes */
        ServerDigest range_digest;
        bool range_lost;                /* an update of it failed: the range cannot be checked */
        bool range_fault;               /* XFERD_TEST_RANGE_HASH_FAIL: every update of it fails */
        unsigned range_response;        /* counts the responses: a writer task's hasher is of one */

        const char *summary;            /* set once the bytes failed a check */
        char message[768];
} BodyCheck;

void body_check_done(BodyCheck *c);

/* A new response begins (a redirect, a retry on the same Transfer): its fields start empty. */
void body_check_response_reset(BodyCheck *c);
/* One raw header line; true when it was a digest field (or Content-Encoding). */
bool body_check_header(BodyCheck *c, const char *line, size_t len);
/* The body of a 2xx response is taken: total is the whole resource's size as the response
 * says it (UINT64_MAX unknown). False (the failure kept) when it cannot be the expected one. */
bool body_check_accept(BodyCheck *c, long status, uint64_t total, const char *url);
/* The file starts over from byte 0 (a 200 to a Range request). */
void body_check_restart(BodyCheck *c);
/* False (the failure kept) when `len` more bytes after `held` would pass the expected size
 * or the cap. */
bool body_check_room(BodyCheck *c, uint64_t held, size_t len, const char *url);
/* An update of the range hasher failed (also on a writer thread, told on the loop): the
 * body fails, since its Content-Digest can no longer be checked. */
void body_check_range_lost(BodyCheck *c);
/* b goes to a writer thread: the stream hashes it meanwhile, on a thread of its own. */
void body_check_queued(BodyCheck *c, BodyBuffer *b);
/* b's bytes were written at its offset: they go to the hashers that lack them; b is passed on
 * to the stream (which releases it once hashed) or released. */
void body_check_written(BodyCheck *c, BodyBuffer *b);
/* The body arrived whole: `size` bytes in the file, the response's body from `range_start`. */
void body_check_complete(BodyCheck *c, uint64_t size, uint64_t range_start, const char *url);

static inline bool body_check_failed(const BodyCheck *c) {
        return c->summary != NULL;
}
