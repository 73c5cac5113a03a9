/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>

#include "prefix-hash.h"
#include "util.h"

/* One slice: pieces of PIECE bytes until SLICE_BUDGET_USEC have passed or SLICE_MAX_BYTES are
 * hashed. SHA-256 with the CPU's SHA extensions does 128 KiB in under 0.1 ms, SHA-512 without
 * them in about 0.2 ms, so a slice ends within a piece of its budget. */
#define PIECE (128u * 1024u)
#define SLICE_BUDGET_USEC (500u)
#define SLICE_MAX_BYTES (4u * 1024u * 1024u)
/* Readahead is asked for this far ahead, whenever the slices pass its middle. */
#define READAHEAD (16u * 1024u * 1024u)

/* XFERD_TEST_HASH_PAUSE=1: after its first slice the hash waits until it is freed, so a test
 * can act (Cancel) while bytes held are being hashed, whatever the speed of the machine. */
static bool test_pause(void) {
        static int pause = -1;

        if (pause < 0)
                pause = streq_ptr(getenv("XFERD_TEST_HASH_PAUSE"), "1");
        return pause;
}

struct PrefixHash {
        sd_event_source *slice;   /* a one-shot timer at time 0: see prefix_hash_start() */
        Hasher *hasher;
        int fd;
        uint64_t end;
        uint64_t readahead_end;   /* readahead was asked for up to here */
        PrefixHashDone done;
        void *userdata;
};

static void readahead_ahead(PrefixHash *p) {
        uint64_t pos = hasher_get_size(p->hasher);

        if (p->readahead_end >= p->end || p->readahead_end > pos + READAHEAD / 2)
                return;
        uint64_t from = p->readahead_end > pos ? p->readahead_end : pos;
        uint64_t to = pos + READAHEAD < p->end ? pos + READAHEAD : p->end;
        /* Starts the reads and returns: the slices then find the pages in the cache. */
        (void) posix_fadvise(p->fd, (off_t) from, (off_t) (to - from), POSIX_FADV_WILLNEED);
        p->readahead_end = to;
}

static int scheduler_on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PrefixHash *p = userdata;
        uint64_t start = now_monotonic_usec();
        size_t done = 0;
        int r;

        readahead_ahead(p);
        for (;;) {
                r = hasher_update_from_fd(p->hasher, p->fd, p->end, PIECE);
                if (r != 0)
                        break;
                done += PIECE;
                if (done >= SLICE_MAX_BYTES || now_monotonic_usec() - start >= SLICE_BUDGET_USEC) {
                        if (test_pause())
                                return 0;
                        /* The next slice on a later iteration. */
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                        if (r >= 0)
                                return 0;
                        break;
                }
        }

        /* May free p. */
        p->done(p, r < 0 ? r : 0, p->userdata);
        return 0;
}

int prefix_hash_start(sd_event *e, Hasher *h, int fd, uint64_t end, PrefixHashDone done, void *userdata,
                      PrefixHash **ret) {
        _cleanup_(prefix_hash_freep) PrefixHash *p = NULL;
        int r;

        assert(e);
        assert(h);
        assert(fd >= 0);
        assert(done);
        assert(ret);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->hasher = h;
        p->fd = fd;
        p->end = end;
        p->done = done;
        p->userdata = userdata;

        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* Not a defer source: sd-event counts one as pending since its creation, so it would be
         * the oldest pending source forever and win every iteration against the bus and the
         * sockets of its priority. An elapsed timer is pending from the iteration that found it
         * elapsed, so whatever became ready before it runs first. Accuracy 1 µs: the default
         * would let the loop wait up to 250 ms for a slice. */
        r = sd_event_add_time(e, &p->slice, CLOCK_MONOTONIC, 0, 1, scheduler_on_slice_timer, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->slice, "prefix-hash");
        *ret = TAKE_PTR(p);
        return 0;
}

PrefixHash *prefix_hash_free(PrefixHash *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->slice);
        free(p);
        return NULL;
}
