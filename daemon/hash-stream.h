/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A file's digest computed off the event loop: the bytes a temporary file holds are read back
 * with pread(), those a transfer writes after them are handed over in the buffers they were
 * written from (body-buffer.h), and all are hashed in file order on the threads of an IoPool,
 * so the loop never spends time in SHA. A resumed file is the same stream, starting at byte 0
 * while the transfer appends. When the transfer ends the owner asks for the verdict and
 * is called back once the hasher has caught up. Freeing the stream stops it at once: a thread
 * that holds it stops after its current piece and frees it itself. Knows nothing of jobs. */

#include <stdint.h>

#include "body-buffer.h"
#include "digest.h"
#include "io-pool.h"

typedef struct HashStream HashStream;

/* error: 0 once the hasher holds bytes [0, end); -ENODATA when the file ended before end, or
 * the -errno of a failed read. Called on the loop thread; the callee may free s. */
typedef void (*HashStreamDone)(HashStream *s, int error, void *userdata);

/* The stream hashes fd's bytes [hasher_get_size(h), written) and whatever is written later. On
 * success it owns h and a duplicate of fd (fd stays the caller's). */
int hash_stream_new(IoPool *pool, int fd, Hasher *h, uint64_t written, HashStream **ret);

/* The file holds bytes [0, written) now: they may be read. */
void hash_stream_written(HashStream *s, uint64_t written);
/* The file holds b's bytes now (and those before them): the stream hashes them from b, then
 * releases b (at once when it has no algorithm, has failed, or holds them already). */
void hash_stream_feed(HashStream *s, BodyBuffer *b);
/* The file was truncated and starts over from byte 0. */
void hash_stream_restart(HashStream *s);
/* The transfer stops and the stream will be freed for its hasher (Suspend, preemption): from
 * now on nothing more goes to a thread, so that the free finds the stream idle (once a
 * borrowed hasher is back) and hands over the hasher, holding a prefix of the file; the bytes
 * after it (the last buffers, a few MiB) are read back at the next start instead of the
 * whole file. */
void hash_stream_hold(HashStream *s);
unsigned hash_stream_get_algorithms(const HashStream *s);
/* Only while nothing of the file is hashed or written (-EBUSY after): a digest covers the
 * whole file. */
int hash_stream_add_algorithm(HashStream *s, DigestAlgorithm a);

/* The writer of the bytes from `offset` on may hash them itself, right after each write, while
 * they are in its cache: returns the hasher when the stream is in step (no task, nothing fed,
 * every byte before offset hashed, an algorithm to compute), else NULL (the buffers are then
 * fed as before). Until it is given back the stream counts as busy: a restart or a new
 * algorithm waits for it, a free leaves it to hash_stream_give_back(). The borrower feeds the
 * hasher only the bytes it wrote, in file order, on one thread at a time. */
Hasher *hash_stream_lend(HashStream *s, uint64_t offset);
/* The hasher is back (error: a failed update's -errno, which stops the stream, or 0). On the
 * loop, before the buffers it hashed are fed (they are then released at once). Frees s when
 * its owner let go meanwhile. */
void hash_stream_give_back(HashStream *s, int error);

/* The file is whole with `end` bytes. Returns 1 when the hasher holds [0, end) already (done is
 * not called), 0 when done will be called once it does (or a read failed), -ENOENT when the
 * stream has no algorithm, or the -errno of a read that failed before. */
int hash_stream_finish(HashStream *s, uint64_t end, HashStreamDone done, void *userdata);

/* Stops the stream without waiting. Returns its hasher (holding some prefix of the file) when
 * no thread holds it and no read failed, else NULL. */
Hasher *hash_stream_free(HashStream *s);
static inline void hash_stream_freep(HashStream **s) {
        hasher_free(hash_stream_free(*s));
}
