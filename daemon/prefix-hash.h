/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hashing the bytes a temporary file already holds (after a restart, or before a Range resume)
 * on the event loop without stalling it: one bounded slice per loop iteration (about half a
 * millisecond of work, at most 4 MiB), so a Cancel or any other call waits for one slice at
 * most, and the sockets of other transfers keep their turns. Readahead is asked for ahead of
 * the slices, so a slice rarely waits for the disk. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "digest.h"

typedef struct PrefixHash PrefixHash;

/* error: 0 once the hasher holds bytes [0, end); else -ENODATA (the file is shorter than end)
 * or the -errno of a failed read. The callee may free p from inside the callback. */
typedef void (*PrefixHashDone)(PrefixHash *p, int error, void *userdata);

/* Feeds bytes [hasher_get_size(h), end) of fd into h. fd and h must outlive p; fd is read with
 * pread() only. done is never called from inside this function. */
int prefix_hash_start(sd_event *e, Hasher *h, int fd, uint64_t end, PrefixHashDone done, void *userdata,
                      PrefixHash **ret);
/* Stops at once (no further read); the hasher keeps the bytes hashed so far. */
PrefixHash *prefix_hash_free(PrefixHash *p);
static inline void prefix_hash_freep(PrefixHash **p) {
        prefix_hash_free(*p);
}
