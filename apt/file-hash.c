/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "file-hash.h"
#include "util.h"

#define SLICE_SIZE (1024u * 1024u)

struct FileHash {
        sd_event_source *source;
        Hasher *hasher;
        int fd;
        char *buf;
        FileHashDone done;
        void *userdata;
};

FileHash *file_hash_free(FileHash *h) {
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->source);
        hasher_free(h->hasher);
        if (h->fd >= 0)
                close(h->fd);
        free(h->buf);
        return mfree(h);
}

static int on_slice(sd_event_source *s, void *userdata) {
        FileHash *h = userdata;
        HashList l;
        ssize_t n;
        int r;

        n = read(h->fd, h->buf, SLICE_SIZE);
        if (n < 0 && errno == EINTR)
                return 0;
        if (n > 0) {
                r = hasher_update(h->hasher, h->buf, (size_t) n);
                if (r >= 0)
                        return 0;  /* the next slice on the next iteration */
        } else if (n == 0)
                r = hasher_finish(h->hasher, &l);
        else
                r = -errno;

        (void) sd_event_source_set_enabled(h->source, SD_EVENT_OFF);
        h->done(h, r, r < 0 ? NULL : &l, h->userdata);
        return 0;
}

int file_hash_start(FileHash **ret, sd_event *e, int fd, unsigned types, FileHashDone done, void *userdata) {
        _cleanup_(file_hash_freep) FileHash *h = NULL;
        int r;

        assert(ret);
        assert(e);
        assert(fd >= 0);
        assert(done);

        h = calloc(1, sizeof *h);
        if (!h) {
                close(fd);
                return -ENOMEM;
        }
        h->fd = fd;
        h->done = done;
        h->userdata = userdata;
        h->buf = malloc(SLICE_SIZE);
        if (!h->buf)
                return -ENOMEM;
        r = hasher_new(&h->hasher, types);
        if (r >= 0)
                r = sd_event_add_defer(e, &h->source, on_slice, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->source, SD_EVENT_ON);
        /* After the bus and apt's pipe: those stay responsive while a large file is hashed. */
        if (r >= 0)
                r = sd_event_source_set_priority(h->source, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                (void) sd_event_source_set_description(h->source, "file-hash");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}
