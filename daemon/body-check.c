/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "body-check.h"
#include "url-strip.h"
#include "util.h"

void body_check_done(BodyCheck *c) {
        assert(c);

        server_digests_reset(&c->digests);
        c->range_hasher = hasher_free(c->range_hasher);
}

_printf_(3, 4)
static void fail(BodyCheck *c, const char *summary, const char *format, ...) {
        va_list ap;

        if (c->summary)
                return;  /* the first failure is the one to tell */
        va_start(ap, format);
        vsnprintf(c->message, sizeof c->message, format, ap);
        va_end(ap);
        c->summary = summary;
}

void body_check_response_reset(BodyCheck *c) {
        assert(c);
        server_digests_reset(&c->digests);
}

bool body_check_header(BodyCheck *c, const char *line, size_t len) {
        assert(c);
        assert(line);

        /* A failed allocation only loses a digest to check. */
        return server_digests_add_header(&c->digests, line, len) != 0;
}

bool body_check_accept(BodyCheck *c, long status, uint64_t total, const char *url) {
        unsigned preferred;
        ServerDigest sd;

        assert(c);
        assert(url);

        if (total != UINT64_MAX && c->expect_size && total != c->expected_size) {
                fail(c, "The file does not have the expected size",
                     "The server says %s has %" PRIu64 " bytes, but %" PRIu64 " were expected.",
                     URL_SHOWN(url), total, c->expected_size);
                return false;
        }
        if (total != UINT64_MAX && c->max_size > 0 && total > c->max_size) {
                fail(c, "The file is larger than allowed",
                     "The server says %s has %" PRIu64 " bytes, more than the %" PRIu64 " allowed.",
                     URL_SHOWN(url), total, c->max_size);
                return false;
        }

        /* Without a size in the response, the one the client gave (checked as the bytes come). */
        if (c->stream)
                hash_stream_set_total(c->stream, total == UINT64_MAX && c->expect_size ? c->expected_size : total);
        c->have_server_digest = false;
        c->range_hasher = hasher_free(c->range_hasher);
        c->range_lost = false;
        c->range_response++;
        preferred = c->stream ? hash_stream_get_algorithms(c->stream) : 0;
        /* xferd asks for no content coding: the bytes stored are the bytes sent. */
        if (server_digests_choose(&c->digests, status, false, preferred, &sd) <= 0)
                return true;
        if (sd.partial) {
                c->range_digest = sd;
                /* Without a hasher the range cannot be checked: not a pass. */
                if (hasher_new(DIGEST_ALGORITHM_BIT(sd.digest.algorithm), &c->range_hasher) < 0)
                        body_check_range_lost(c);
                c->range_fault = streq_ptr(getenv("XFERD_TEST_RANGE_HASH_FAIL"), "1");
                return true;
        }
        c->server_digest = sd;
        c->have_server_digest = true;
        /* From byte 0 the digest comes almost for free; later the owner hashes the file. */
        if (c->stream)
                (void) hash_stream_add_algorithm(c->stream, sd.digest.algorithm);
        return true;
}

void body_check_restart(BodyCheck *c) {
        assert(c);

        if (c->stream)
                hash_stream_restart(c->stream);
}

bool body_check_room(BodyCheck *c, uint64_t held, size_t len, const char *url) {
        uint64_t cap;

        assert(c);
        assert(url);

        if (!c->expect_size && c->max_size == 0)
                return true;
        cap = c->expect_size ? c->expected_size : c->max_size;
        if (held + len <= cap)
                return true;
        fail(c, "The server sent more bytes than expected", "%s sent more than the %" PRIu64 " bytes expected.",
             URL_SHOWN(url), cap);
        return false;
}

void body_check_range_lost(BodyCheck *c) {
        assert(c);

        c->range_hasher = hasher_free(c->range_hasher);
        c->range_lost = true;
}

void body_check_queued(BodyCheck *c, BodyBuffer *b) {
        assert(c);
        assert(b);

        if (c->stream)
                hash_stream_feed_ahead(c->stream, b);
}

void body_check_written(BodyCheck *c, BodyBuffer *b) {
        assert(c);
        assert(b);

        if (c->range_hasher && !b->range_hashed &&
            (c->range_fault || hasher_update(c->range_hasher, b->data, b->len) < 0))
                body_check_range_lost(c);
        /* The stream hashes the bytes from the buffer (off the loop) and gives it back. */
        if (c->stream && !b->hashed_ahead)
                hash_stream_feed(c->stream, b);
        else
                body_buffer_release(b);
}

void body_check_complete(BodyCheck *c, uint64_t size, uint64_t range_start, const char *url) {
        char want[DIGEST_STRING_MAX], got[DIGEST_STRING_MAX];
        Digest d;

        assert(c);
        assert(url);

        if (c->expect_size && size != c->expected_size)
                fail(c, "The file does not have the expected size",
                     "%s ended after %" PRIu64 " bytes, but %" PRIu64 " were expected.", URL_SHOWN(url), size,
                     c->expected_size);
        else if (c->range_lost)
                fail(c, "The bytes could not be checked against the digest the server sent",
                     "The bytes %s sent from byte %" PRIu64 " could not be hashed to check the Content-Digest "
                     "sent with them.", URL_SHOWN(url), range_start);
        else if (c->range_hasher && hasher_get_digest(c->range_hasher, c->range_digest.digest.algorithm, &d) >= 0 &&
                 !digest_equal(&d, &c->range_digest.digest))
                fail(c, "The bytes do not match the digest the server sent",
                     "The bytes %s sent from byte %" PRIu64 " do not match the Content-Digest sent with them: "
                     "expected %s, got %s.", URL_SHOWN(url), range_start,
                     digest_to_string(&c->range_digest.digest, want), digest_to_string(&d, got));
}
