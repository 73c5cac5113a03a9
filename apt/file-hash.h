/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hashes an open file on the event loop, a slice per iteration, so that a large package
 * never holds up apt's messages or the bus. */

#include <systemd/sd-event.h>

#include "hashes.h"

typedef struct FileHash FileHash;

/* r < 0 when reading or hashing failed; l is then NULL. */
typedef void (*FileHashDone)(FileHash *h, int r, const HashList *l, void *userdata);

/* Takes fd (closed when done or freed). The callback runs from the event loop, never from
 * here. */
int file_hash_start(FileHash **ret, sd_event *e, int fd, unsigned types, FileHashDone done, void *userdata);
/* Stops hashing; the callback is not called afterwards. */
FileHash *file_hash_free(FileHash *h);
static inline void file_hash_freep(FileHash **h) {
        file_hash_free(*h);
}
