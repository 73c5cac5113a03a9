/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One task of the pool at a time per stream: the loop hands a thread the range that is
 * written (read back from the file, piece by piece) and the buffers fed since (hashed from
 * memory; a transfer's are fed as they go to its writer, so the two threads work on them at
 * once), the loop gets the stream back and hands it the next. While a task runs the thread
 * alone touches the hasher and reads the task's buffers; what the loop asks meanwhile (start
 * over, one more algorithm) waits for the task's return. After each whole piece the thread
 * leaves a copy of the hasher (the mark), so that a held stream's free takes that copy rather
 * than wait for a piece that a hung file system may hold for long. The loop never waits for a
 * lock a thread of the pool holds: those threads run 10 nice levels below it, or only on idle
 * CPUs, and one preempted inside a lock on a busy machine would hold the loop for as long as
 * it waits for a CPU. The task's state is one atomic word, the mark is exchanged as a pointer.
 * The stream's lists of buffers go through their hash_node: the writer may hold the same
 * buffers in its own list. */

#include <pthread.h>
#include <stdatomic.h>

#include "hash-stream.h"
#include "list.h"

/* A task's state: queued, then taken by its thread (started) and done with the hasher (over),
 * unless a held stream's free takes it back first (stolen); each change one atomic step. */
enum {
        TASK_QUEUED,
        TASK_STARTED,
        TASK_STOLEN,
        TASK_OVER,
};

struct HashStream {
        IoTask task;                    /* the pool's; run() and done() find the stream from it */
        IoPool *pool;
        IoPool *background_pool;        /* until the verdict is asked for, if any */
        int fd;                         /* a duplicate: the owner closes its own at will */
        int owner_fd;                   /* the owner's, while there is no duplicate (no algorithm yet) */
        Hasher *hasher;                 /* a running task's alone */
        unsigned algorithms;

        /* The loop thread's. */
        uint64_t written;               /* the file holds [0, written) */
        uint64_t total;                 /* the file's size once whole, UINT64_MAX: not known */
        uint64_t from_file;             /* [0, from_file) is read back from the file, not from buffers */
        List fed;                       /* buffers waiting for a task, in file order */
        bool running;                   /* a task is queued or runs */
        bool task_background;           /* in the background pool */
        bool catching_up;               /* the backlog grew too large for the background */
        bool freed;                     /* the owner let go while a task ran: done() frees */
        bool held;                      /* a keeping stop: nothing more goes to a thread */
        bool restart_pending;           /* the file started over while a task ran */
        bool told;                      /* the first bytes hashed were logged */
        unsigned add_pending;           /* algorithms to add once the task is back */
        int error;                      /* a failed read; the stream stops */
        bool finishing;
        uint64_t end;
        HashStreamDone done;
        void *userdata;

        /* Set before a task is submitted, read by its thread (the pool's lock orders them). */
        uint64_t task_end;              /* read the file up to here first */
        size_t task_piece;              /* HASH_STREAM_PIECE, or the background's */
        List task_buffers;              /* then hash these; back to their sets in done() */
        bool pause;                     /* XFERD_TEST_HASH_PAUSE */
        bool stall;                     /* XFERD_TEST_HASH_STALL */
        /* Set by the thread, read in done(). */
        int task_error;

        atomic_bool cancelled;
        atomic_bool hurry;              /* the verdict waits: a background task ends after its piece */
        _Atomic uint64_t progress;      /* bytes hashed as of the thread's last whole piece */
        atomic_int task_state;          /* TASK_*: a held stream's free takes back a task queued */
        /* A copy of the hasher as of a whole piece, always the one of the last task that
         * returned or that runs: the loop makes it before a task when there is none (the
         * first, or the hasher changed on the loop), the thread replaces it after each piece,
         * a held stream's free takes it. NULL: none (a copy failed). */
        _Atomic(Hasher *) mark;
        Hasher *spare;                  /* the last mark replaced: a running task's, for the next */
        pthread_mutex_t pause_lock;     /* the test pause waits for the cancel on this; the loop only tries it */
        pthread_cond_t pause_cond;
};

/* hash-stream-task.c: the task on a thread of the pool (its IoTask.run). */
void hash_stream_run(IoTask *t);
/* XFERD_TEST_HASH_PAUSE and XFERD_TEST_HASH_STALL, read once. */
bool hash_stream_test_pause(void);
const char *hash_stream_test_stall(void);
