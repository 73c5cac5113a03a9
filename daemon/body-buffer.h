/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The buffers a download's body passes through on its way to the file and to the hasher: the
 * loop copies the bytes curl hands over into one, the file gets them from it, and the hasher
 * hashes them from it too instead of reading them back, at the same time on another thread.
 * A set belongs to one transfer and holds at most a few; a buffer goes back to its set once
 * its last holder (the writer, a hash stream) releases it, and the set says so (the transfer,
 * paused for want of one, continues). When the transfer goes
 * first, its set is orphaned: each buffer still out is freed when it comes back, the set with
 * the last one. Loop thread only (a thread may read or write a buffer's bytes while a task of
 * it holds the buffer, never the set). Knows nothing of transfers or files. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

#define BODY_BUFFER_SIZE (1024u * 1024u)
/* Buffers all sets together may hold beyond the first of each: what the process's buffers
 * take is at most (transfers + BODY_SHARED_MAX) MiB. A set never takes more than max + spare. */
#define BODY_SHARED_MAX 16u

typedef struct BodySet BodySet;

typedef struct BodyBuffer {
        ListNode node;          /* in the set's free list, or in the list of whoever holds it */
        ListNode hash_node;     /* in a hash stream's list, while the stream holds a reference */
        BodySet *set;
        uint64_t offset;        /* where in the file data[0] goes */
        size_t len;             /* bytes held; BODY_BUFFER_SIZE at most */
        size_t touched;         /* the most it held, as its holders let go: the bytes in memory */
        unsigned refs;          /* holders; the buffer goes back to its set with the last */
        bool range_hashed;      /* the writer fed them to the response's range hasher */
        bool hashed_ahead;      /* a hash stream took them before they were written */
        char data[];
} BodyBuffer;

/* A buffer came back while none was free before. */
typedef void (*BodySetAvailable)(void *userdata);

/* At most max + spare buffers: the first its own, each other one while the process's shared
 * ones (BODY_SHARED_MAX) have one left and the set holds less than its even part of them
 * (BODY_SHARED_MAX over the sets, at least one); what it holds beyond that part, once more sets
 * came, goes back as it returns. */
int body_set_new(unsigned max, unsigned spare, BodySetAvailable available, void *userdata, BodySet **ret);
/* The owner lets go: buffers still out are freed as they come back. */
void body_set_orphan(BodySet *s);

/* An empty buffer for bytes from `offset`: 0 and *ret, -EAGAIN when all it may have are out (the set
 * calls `available` once one comes back), -ENOMEM. */
int body_set_get(BodySet *s, uint64_t offset, BodyBuffer **ret);
/* Buffers given out and not back yet. */
unsigned body_set_out(const BodySet *s);
/* Of the shared buffers, how many sets hold now. */
unsigned body_shared_out(void);

/* One more holder (a hash stream reading the bytes while the writer writes them). */
BodyBuffer *body_buffer_ref(BodyBuffer *b);
/* The holder lets go; with the last the buffer goes back to its set. NULL is fine. */
void body_buffer_release(BodyBuffer *b);
/* Releases every buffer of l. */
void body_buffer_release_all(List *l);
/* Buffers of small bodies freed and kept for the next sets (tests). */
unsigned body_spare_count(void);
