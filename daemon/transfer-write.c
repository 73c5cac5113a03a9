/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The body of a download on its way to the file: curl's write callback, the bandwidth token
 * bucket's pauses, the buffers filled and handed to the writer (transfer-writer.c) once per
 * loop wake-up, the bytes written passed on to the hashers, and the early writeback that
 * spares Complete's fdatasync. */
#include <assert.h>
#include <curl/curl.h>
#include <fcntl.h>

#include "transfer-internal.h"
#include "util.h"

static int on_resume_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Transfer *t = userdata;

        t->paused = false;
        /* curl delivers the held chunk from inside this call. */
        if (t->req.easy)
                (void) curl_easy_pause(t->req.easy, CURLPAUSE_CONT);
        return 0;
}

/* Returns true when the chunk must wait: the bucket is in debt. */
bool transfer_bucket_must_wait(Transfer *t) {
        uint64_t now = engine_now(t->engine), wait;

        wait = token_bucket_wait_usec(&t->bucket, now);
        if (wait == 0)
                return false;
        if (!t->resume_timer) {
                if (sd_event_add_time(engine_get_event(t->engine), &t->resume_timer, CLOCK_MONOTONIC, now + wait,
                                      USEC_PER_MSEC, on_resume_timer, t) < 0)
                        return false;
        } else if (sd_event_source_set_time(t->resume_timer, now + wait) < 0 ||
                   sd_event_source_set_enabled(t->resume_timer, SD_EVENT_ONESHOT) < 0)
                return false;
        t->paused = true;
        return true;
}

#define WRITEBACK_CHUNK (8u * 1024u * 1024u)

/* One early writeback on a thread of the writeback pool: sync_file_range() "starts" the
 * writeback, but waits for the disk meanwhile (ext4 allocates the blocks and reads their
 * bitmaps, a full request queue throttles), milliseconds the loop would not answer calls.
 * The range the one before started is then waited for and dropped from the page cache: a
 * background download of a large file does not evict the user's working set for bytes
 * nobody reads soon (they are hashed from the buffers). */
typedef struct Writeback {
        IoTask task;            /* first: the pool hands it back */
        Transfer *transfer;     /* NULL once the transfer is gone */
        int fd;                 /* a duplicate: the transfer's owner may close its own first */
        uint64_t offset, length;
        uint64_t drop_offset, drop_length;
} Writeback;

static void writeback_run(IoTask *task) {
        Writeback *w = (Writeback *) task;

        (void) sync_file_range(w->fd, (off_t) w->offset, (off_t) w->length, SYNC_FILE_RANGE_WRITE);
        /* Only clean pages can go: those of the range are written first. */
        if (w->drop_length > 0 &&
            sync_file_range(w->fd, (off_t) w->drop_offset, (off_t) w->drop_length,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0)
                (void) posix_fadvise(w->fd, (off_t) w->drop_offset, (off_t) w->drop_length, POSIX_FADV_DONTNEED);
        /* Here, not on the loop: for a file unlinked meanwhile (Cancel) this may be the last
         * close, which frees the blocks. */
        w->fd = safe_close(w->fd);
}

static void writeback_free(IoTask *task) {
        Writeback *w = (Writeback *) task;

        if (w->transfer)
                w->transfer->writeback = NULL;
        safe_close(w->fd);
        free(w);
}

void transfer_writeback_detach(Transfer *t) {
        assert(t);

        if (t->writeback)
                t->writeback->transfer = NULL;
        t->writeback = NULL;
}

/* Hands the range to the writeback pool; false when it cannot (then the caller starts it). */
static bool writeback_submit(Transfer *t, uint64_t offset, uint64_t length) {
        Writeback *w = calloc(1, sizeof *w);

        if (!w)
                return false;
        w->fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
        if (w->fd < 0) {
                free(w);
                return false;
        }
        w->task = (IoTask) { .run = writeback_run, .done = writeback_free, .drop = writeback_free };
        w->transfer = t;
        w->offset = offset;
        w->length = length;
        /* What the writebacks before started, one chunk behind: written by now, mostly; not
         * what a hash stream behind will read back yet. */
        uint64_t drop_end = offset, hashed = t->check.stream ? hash_stream_progress(t->check.stream) : UINT64_MAX;
        if (hashed < drop_end)
                drop_end = hashed;
        if (t->dropped < drop_end) {
                w->drop_offset = t->dropped;
                w->drop_length = drop_end - t->dropped;
                t->dropped = drop_end;
        }
        t->writeback = w;
        io_pool_submit(t->writeback_pool, &w->task);
        return true;
}

/* Starts (does not wait for) the writeback of the bytes written since the last call. */
static void writeback_start(Transfer *t) {
        if (t->position < t->flushed)
                t->flushed = t->dropped = 0;  /* the file was truncated */
        if (t->position <= t->flushed)
                return;
        if (t->writeback)
                return;  /* one at a time: the next call takes this range too */
        if (!t->writeback_pool || !writeback_submit(t, t->flushed, t->position - t->flushed))
                (void) sync_file_range(t->fd, (off_t) t->flushed, (off_t) (t->position - t->flushed),
                                       SYNC_FILE_RANGE_WRITE);
        t->flushed = t->position;
}

void transfer_buffer_written(Transfer *t, BodyBuffer *b, size_t done, int error) {
        assert(t);
        assert(b);
        assert(done <= b->len);

        t->position = b->offset + done;
        /* A stream hashing it may be reading len right now: it then hashes the whole buffer,
         * and sees at the next start that it hashed more than the file holds. */
        if (!b->hashed_ahead)
                b->len = done;
        if (error < 0) {
                if (t->write_errno == 0)
                        t->write_errno = -error;
                /* The bytes after the failure never land: the count is what the file holds. */
                t->queued_end = t->position;
        }
        body_check_written(&t->check, b);

        /* Start the writeback of what is written, a few MiB behind: the fdatasync() of Complete
         * then finds little left to do, and a large download does not pile up dirty pages. */
        if (t->position < t->flushed || t->position - t->flushed >= WRITEBACK_CHUNK)
                writeback_start(t);
}

/* Hands the buffered bytes to the writer; on failure remembers errno and returns false. */
bool transfer_write_flush(Transfer *t) {
        if (!t->cur)
                return true;
        return transfer_writer_queue(t, TAKE_PTR(t->cur), false);
}

bool transfer_write_flush_last(Transfer *t) {
        if (!t->cur)
                return true;
        return transfer_writer_queue(t, TAKE_PTR(t->cur), true);
}

static int on_flush(sd_event_source *s, void *userdata) {
        Transfer *t = userdata;

        t->slice_bytes = 0;  /* the loop ran something else since curl's dispatch */
        /* A failure ends the transfer through curl: the next write callback sees write_errno.
         * While the writer is busy the buffer fills on: it goes when it is full or the writer
         * is free, so a fast transfer writes whole buffers and a slow one at once. */
        if (transfer_writer_idle(t))
                (void) transfer_write_flush(t);
        return 0;
}

/* Buffered bytes reach the file once this wake-up's callbacks are done (all the 16 KiB pieces
 * of one socket read go out in one pwrite()), so a slow transfer never holds them back. */
static void flush_soon(Transfer *t) {
        if (!t->flush_source) {
                if (sd_event_add_defer(engine_get_event(t->engine), &t->flush_source, on_flush, t) < 0)
                        return;  /* flushed when the buffer is full or the transfer ends */
                (void) sd_event_source_set_description(t->flush_source, "transfer-flush");
        }
        (void) sd_event_source_set_enabled(t->flush_source, SD_EVENT_ONESHOT);
}

static int on_unpause(sd_event_source *s, void *userdata) {
        Transfer *t = userdata;

        /* curl delivers the held chunk from inside this call. */
        if (t->buffer_wait && t->req.easy) {
                t->buffer_wait = false;
                t->slice_bytes = 0;
                (void) curl_easy_pause(t->req.easy, CURLPAUSE_CONT);
        }
        return 0;
}

/* The paused transfer continues from the next loop iteration on. */
static int unpause_soon(Transfer *t) {
        int r;

        if (!t->unpause_source) {
                r = sd_event_add_defer(engine_get_event(t->engine), &t->unpause_source, on_unpause, t);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(t->unpause_source, "transfer-unpause");
        }
        return sd_event_source_set_enabled(t->unpause_source, SD_EVENT_ONESHOT);
}

/* A buffer came back (from the hasher, on the loop): the transfer continues, but not from
 * inside the hasher's callback. */
void transfer_on_buffer_available(void *userdata) {
        Transfer *t = userdata;

        if (!t->buffer_wait)
                return;
        if (unpause_soon(t) < 0)
                on_unpause(NULL, t);  /* not inside a write callback: the hasher's done() */
}

/* The most one dispatch of curl's takes in before the loop looks at its other sources
 * (a call waits for that): about a quarter of a millisecond of recv() and copy. */
#define SLICE_BYTES (1024u * 1024u)

/* HTTP/1 only: there a pause stops the reads of the socket. An HTTP/2 connection carries
 * other streams, which curl goes on reading (buffering this one's data): the pause would add
 * work without ending the dispatch. */
static bool slice_pauses(Transfer *t) {
        long v = 0;

        return curl_easy_getinfo(t->req.easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK &&
               (v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1);
}

size_t transfer_on_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nmemb;
        uint64_t held;
        int r;

        if (t->gone) {
                /* Freed, its handle not yet released: curl keeps the bytes and leaves the
                 * socket alone until then. */
                t->refused += len;
                return CURL_WRITEFUNC_PAUSE;
        }
        if (!t->body_accepted)
                return len;  /* the body of an error response */
        /* A deferred flush failed: the bytes after it must not land behind a hole. */
        if (t->write_errno != 0)
                return 0;  /* curl ends the transfer with CURLE_WRITE_ERROR */
        held = transfer_get_position(t);
        /* More than expected: stop at once, before the byte lands. */
        if (!body_check_room(&t->check, held, len, t->url))
                return 0;  /* curl ends the transfer with CURLE_WRITE_ERROR */
        if (!write_limits_size_ok(&t->limits, held + len))
                return 0;  /* an endless body ends here */
        if (len > BODY_BUFFER_SIZE) {
                t->write_errno = EINVAL;  /* never: curl hands over 16 KiB at a time */
                return 0;
        }
        if (transfer_bucket_must_wait(t))
                return CURL_WRITEFUNC_PAUSE;
        /* curl reads on while the socket has bytes: from a fast server (loopback) 8 MiB and
         * more in one dispatch, milliseconds in which the loop reads no call. After a slice
         * the transfer pauses and goes on from a defer, below the bus's priority. */
        if (t->slice_bytes >= SLICE_BYTES && slice_pauses(t) && unpause_soon(t) >= 0) {
                t->buffer_wait = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        t->slice_bytes += len;

        /* One pwrite() per socket read (up to 1 MiB) instead of one per 16 KiB callback: fewer
         * system calls, and whole page-cache folios instead of partial ones to zero first. */
        if (t->cur && t->cur->len + len > BODY_BUFFER_SIZE && !transfer_write_flush(t))
                return 0;
        if (!t->cur) {
                r = body_set_get(t->buffers, held, &t->cur);
                if (r == -EAGAIN) {
                        /* Every buffer waits for the hasher: curl keeps the chunk meanwhile. */
                        t->buffer_wait = true;
                        return CURL_WRITEFUNC_PAUSE;
                }
                if (r < 0) {
                        t->write_errno = -r;
                        return 0;
                }
        }
        memcpy(t->cur->data + t->cur->len, ptr, len);
        t->cur->len += len;
        flush_soon(t);
        token_bucket_consume(&t->bucket, len);
        cache_route_received(t->route, len);

        if (t->cb->on_progress)
                t->cb->on_progress(t, t->userdata);
        return len;
}
