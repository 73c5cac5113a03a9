/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A Transfer is one easy handle on the engine writing one HTTP(S) resource into an open
 * temporary file, continuing after the bytes it already holds when it can. It tells a
 * HashStream of every byte it writes, holds the body to an expected size, and checks a Content-Digest
 * that covers only the range of a 206 itself; whole-file digests the server sends are handed
 * on (transfer_get_server_digest()).
 * Through the site's cache, a cache that fails (unreachable, 5xx, silent for
 * CacheFallbackSec, cut off) is left for the origin, where the file continues by Range.
 * Nothing here knows jobs or the bus. */

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "engine.h"
#include "hash-stream.h"
#include "fsops.h"
#include "http-settings.h"
#include "http-util.h"
#include "server-digest.h"

typedef struct Transfer Transfer;

typedef struct TransferCallbacks {
        /* The first response status line arrived. */
        void (*on_response)(Transfer *t, void *userdata);
        /* Bytes were written to the file; cheap: called once per received chunk. */
        void (*on_progress)(Transfer *t, void *userdata);
        /* The transfer ended. The handle is already out of the multi; the callee frees it. */
        void (*on_done)(Transfer *t, const TransferResult *result, void *userdata);
} TransferCallbacks;

typedef struct TransferRequest {
        const char *url;
        int fd;                         /* the temporary file; not closed by the transfer */
        uint64_t offset;                /* bytes already in the file: ask only for the rest */
        const char *validator;          /* ETag or Last-Modified of those bytes, for If-Range */
        HttpSettings http;              /* the job's: its headers go only to origin_url's origin */
        uint64_t max_speed;             /* bytes/s, 0 = none */
        const char *origin_url;         /* headers go to this URL's origin; NULL: url's (a mirror's
                                         * requests carry the job's headers only to the origin the
                                         * job named) */
        HashStream *hash_stream;        /* NULL, or told of every byte written (it must know of
                                         * the `offset` bytes held); restarted when the file starts
                                         * over; the server's digest algorithm is added when the
                                         * body starts at byte 0. It outlives the transfer */
        bool expect_size;               /* the resource must have exactly expected_size bytes */
        uint64_t expected_size;
        const FsIdentity *identity;     /* writes act as this owner (NULL: as the daemon); outlives the transfer */
        uint64_t max_size;              /* a file may not grow past this, 0 = no limit (MaxFileSize) */
        DiskReserve keep_free;          /* free space the writes leave on the file system (KeepFree) */
        dev_t fs_dev;                   /* fd's file system, whose free space transfers share (0: unknown) */
        bool pipewait;                  /* one of several requests at once to a server: rather wait
                                         * for a connection that multiplexes (HTTP/2) than open one */
        IoPool *writeback_pool;         /* starts the early writeback of the file off the loop
                                         * (NULL: on the loop); outlives the transfer */
        IoPool *write_pool;             /* writes the body off the loop, one task at a time per
                                         * transfer (NULL: on the loop); outlives the transfer */
} TransferRequest;

int transfer_start(Engine *e, const TransferRequest *req, const TransferCallbacks *cb,
                   void *userdata, Transfer **ret);
/* Stops at once (the easy handle leaves the multi, so no further byte arrives) and writes
 * out the bytes already received, so that transfer_get_position() then says what the file
 * holds: for Suspend and preemption, which keep the partial data. A failed write returns
 * its -errno. */
int transfer_stop(Transfer *t);
/* Stops at once and frees; received bytes not yet written are dropped unless transfer_stop()
 * came first (Cancel promises no byte after it, and its file is about to go). */
Transfer *transfer_free(Transfer *t);

/* Whether the transfer waits for its bandwidth budget (the token bucket ran dry). */
bool transfer_is_paused(const Transfer *t);
/* Bytes received: in the file, or on their way to it (written before transfer_stop() returns
 * and before the transfer ends). */
uint64_t transfer_get_position(const Transfer *t);
uint64_t transfer_get_total(const Transfer *t);     /* size of the whole resource, UINT64_MAX unknown */
/* ETag, else Last-Modified, of the response whose body went into the file; NULL when no
 * body was taken (a failure before the headers, an error status). */
const char *transfer_get_validator(const Transfer *t);
int transfer_set_max_speed(Transfer *t, uint64_t bytes_per_sec);
/* The whole-file digest the server sent with the response whose body went into the file
 * (Repr-Digest, Digest, or Content-Digest of a 200): 1 and *ret, or 0 when none. */
int transfer_get_server_digest(const Transfer *t, ServerDigest *ret);
/* Body bytes received over a connection to the cache (CacheHost), and over every other; for
 * the whole transfer, across redirects and a fallback from the cache to the origin. */
uint64_t transfer_get_bytes_from_cache(const Transfer *t);
uint64_t transfer_get_bytes_from_origin(const Transfer *t);
