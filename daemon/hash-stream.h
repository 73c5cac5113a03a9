/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A file's digest computed off the event loop: the bytes a temporary file holds are read back
 * with pread(), those a transfer writes after them are handed over in the buffers they are
 * written from (body-buffer.h), as they go to the writer, and all are hashed in file order on
 * the threads of an IoPool while the writer writes, so the loop never spends time in SHA and
 * the hash adds no time to the write. A resumed file is the same stream, starting at byte 0
 * while the transfer appends. When the transfer ends the owner asks for the verdict and
 * is called back once the hasher has caught up. Freeing the stream stops it at once: a thread
 * that holds it stops after its current piece and frees it itself. Knows nothing of jobs. */

#include <stdint.h>

#include "body-buffer.h"
#include "digest.h"
#include "io-pool.h"

typedef struct HashStream HashStream;

/* Between two pieces a thread looks whether the stream was freed or its verdict is waited for:
 * SHA-256 with the CPU's SHA extensions hashes 1 MiB in under a millisecond. In the background
 * pool, whose threads run only on idle CPUs (hardly at all on a busy machine), less. */
#define HASH_STREAM_PIECE (1024u * 1024u)
#define HASH_STREAM_BACKGROUND_PIECE (128u * 1024u)

/* error: 0 once the hasher holds bytes [0, end); -ENODATA when the file ended before end, or
 * the -errno of a failed read. Called on the loop thread; the callee may free s. */
typedef void (*HashStreamDone)(HashStream *s, int error, void *userdata);

/* The stream hashes fd's bytes [hasher_get_size(h), written) and whatever is written later,
 * on background_pool's threads (if not NULL: those of a transfer nobody waits for yet) until
 * hash_stream_finish(), then on pool's. On success it owns h and a duplicate of fd (fd stays
 * the caller's); with no algorithm in h, the duplicate is made by the first
 * hash_stream_add_algorithm(), while fd is still open. */
int hash_stream_new(IoPool *pool, IoPool *background_pool, int fd, Hasher *h, uint64_t written, HashStream **ret);

/* The file holds bytes [0, written) now: they may be read. */
void hash_stream_written(HashStream *s, uint64_t written);
/* The file will hold total bytes once whole (UINT64_MAX: not known): a stream in the
 * background competes for the CPU once its backlog is more than what is left to write. */
void hash_stream_set_total(HashStream *s, uint64_t total);
/* Pure: the backlog (bytes written, not hashed yet) a stream hashing in the background may
 * have before it competes for the CPU, with `written` of `total` bytes written. */
uint64_t hash_stream_backlog_bound(uint64_t written, uint64_t total);
/* The file holds b's bytes now (and those before them): the stream hashes them from b, then
 * releases b; at once when it is behind (it reads them back from the file later), holds a few
 * buffers already, has no algorithm or has failed. */
void hash_stream_feed(HashStream *s, BodyBuffer *b);
/* b goes to the writer now, after every byte before it: unless the stream is behind or holds a
 * few buffers already, it hashes it meanwhile, with a reference of its own (the caller keeps
 * its own), and marks it hashed_ahead, so that it is not fed again once written. Should the
 * write fail, the hasher holds bytes the file lacks: the next start sees more hashed than held
 * and hashes the file again. */
void hash_stream_feed_ahead(HashStream *s, BodyBuffer *b);
/* The bytes hashed as of the thread's last whole piece (any thread may ask): those after it
 * may still be read back from the file, so they stay in the page cache. UINT64_MAX when the
 * stream hashes nothing (no algorithm, a failed read). */
uint64_t hash_stream_progress(const HashStream *s);
/* The file was truncated and starts over from byte 0 (its size not known until
 * hash_stream_set_total() again). */
void hash_stream_restart(HashStream *s);
/* The transfer stops and the stream will be freed for its hasher (Suspend, preemption): from
 * now on nothing more goes to a thread, and the free takes back a task not started yet, or
 * takes a copy of the hasher as of the last whole piece (1 MiB) of a task that runs, without
 * waiting for the thread; it hands over a hasher holding a prefix of the file, and the bytes
 * after it (the last buffers, a few MiB) are read back at the next start instead of the whole
 * file. */
void hash_stream_hold(HashStream *s);
unsigned hash_stream_get_algorithms(const HashStream *s);
/* Only while nothing of the file is hashed or written (-EBUSY after): a digest covers the
 * whole file. The first algorithm duplicates the descriptor given to hash_stream_new(), which
 * must be open still (or the -errno of the duplicate). */
int hash_stream_add_algorithm(HashStream *s, DigestAlgorithm a);

/* The file is whole with `end` bytes. Returns 1 when the hasher holds [0, end) already (done is
 * not called), 0 when done will be called once it does (or a read failed), -ENOENT when the
 * stream has no algorithm, or the -errno of a read that failed before. */
int hash_stream_finish(HashStream *s, uint64_t end, HashStreamDone done, void *userdata);

/* Stops the stream, without waiting for its thread. Returns its hasher (holding some
 * prefix of the file) when no thread holds it, or it is held, and no read failed, else NULL. */
Hasher *hash_stream_free(HashStream *s);
/* For the tests: takes (lock) or releases the lock the test pause waits on, as a thread
 * preempted inside it would hold it; a stream freed while it runs lives until the pool hands
 * its task back, so the lock may be released after the free, before the loop runs. */
void hash_stream_test_lock(HashStream *s, bool lock);

static inline void hash_stream_freep(HashStream **s) {
        hasher_free(hash_stream_free(*s));
}
