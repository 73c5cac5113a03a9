/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The durable job store: SQLite in WAL mode with synchronous=NORMAL in the state directory.
 * Every change a client is told about is committed before the reply. The file on disk is the
 * truth for how far a download got, so byte counters are saved only as checkpoints. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "job-record.h"

typedef struct Store Store;

/* Opens (creating the directory with mode 0700 and the database with mode 0600 if needed)
 * "<dir>/xferd.db", migrates the schema to the current version. A database that is corrupt,
 * not a database, or from a newer schema version is moved aside to
 * "<dir>/xferd.db.broken-<unix time>" (with its -wal/-shm files) with one log line at
 * warning level, and an empty one is created: the daemon never crash-loops on its store. */
int store_open(const char *dir, Store **ret);
Store *store_close(Store *s);

/* Checkpoints (copying the write-ahead log into the database, with a sync) never run inside a
 * commit, where a caller waits for its reply: once the log holds STORE_CHECKPOINT_PAGES frames
 * more than when a checkpoint was last started (or than none, after the log started over), a
 * commit calls want(userdata), and the owner runs store_checkpoint() on a worker thread;
 * want() returns whether it started one (false while one runs: the next commit asks again). */
#define STORE_CHECKPOINT_PAGES 1000
void store_set_checkpoint_callback(Store *s, bool (*want)(void *userdata), void *userdata);
/* On a worker thread, one at a time, never after store_close() began: a passive checkpoint
 * through a connection of its own (opened at the first call), beside the loop's commits.
 * Returns the pages left in the log that it could not copy yet, or a negative errno. */
int store_checkpoint(Store *s);

/* Groups several writes into one transaction (one commit, one WAL sync point). Nested calls
 * are counted; only the outermost end commits. The transaction begins with its first write:
 * one that wrote nothing commits nothing. */
int store_begin(Store *s);
int store_end(Store *s);
/* Inside a transaction: commits what it holds now and goes on in a new one (a write-ahead
 * record that must be durable before a file is created). Outside one: nothing to do. */
int store_commit(Store *s);
/* While held, store_commit() commits nothing: a call made of several steps (Download) is one
 * transaction, committed by its outermost store_end() before anything of it is told. */
void store_hold(Store *s, bool held);
/* Between the calls of a batch its transaction stays open: the first write of anyone else (a
 * statement, a begin, a commit) calls release(userdata) first, which must commit it. */
void store_set_batch_release(Store *s, void (*release)(void *userdata), void *userdata);
void store_set_batch_open(Store *s, bool open);

/* The key of a new job's rows (Job.store_key): after those of every stored job, never given
 * twice, so that a new job's rows are appended. */
int64_t store_new_key(Store *s);
/* Writes the whole job: its row and all of its file rows (inserting or replacing). */
int store_save_job(Store *s, const Job *j);
/* store_save_job() of a job the store never had (just made): nothing of it to trim. */
int store_insert_job(Store *s, const Job *j);
/* Writes the job row only (state, settings, error, times, counters) — cheaper, for changes
 * that do not touch the file list. */
int store_save_job_row(Store *s, const Job *j);
/* Writes the job's byte counters only (BytesFromCache, BytesFromOrigin) into its stored row;
 * nothing else of the row, and no row for a job the store does not hold. */
int store_save_job_counters(Store *s, const Job *j);
/* Writes one file's progress (bytes, completed, committed, temp_exists, validator). */
int store_save_file(Store *s, const Job *j, size_t index);
int store_delete_job(Store *s, const Job *j);

/* Loads every stored job, oldest first (by creation time, then insertion order). `reserve`
 * (optional) is told how many jobs follow before the first adopt(). For each, a
 * Job is allocated with calloc() and filled from the store: id, type, owner, display_name,
 * description, state, priority, auto_complete, allow_insecure_redirect, bandwidth_limit,
 * minimum_retry_delay, no_progress_timeout, http_headers, creation/modification/completion
 * time, last_progress_time, retry_time, error_name, error_message, error_summary, upload_url,
 * error_count, retire_time (see manager.h), and files[] (each JobFile calloc()ed: url, path,
 * dir, name, temp_name, dir_dev, dir_ino, temp_exists, completed, committed, bytes_total,
 * bytes_transferred, validator), n_files, current. Everything else is zero; fd is -1.
 * `adopt` takes ownership of the Job (it must free it on failure); a negative return from
 * `adopt` stops loading and is returned. */
/* Gives back the memory of SQLite's page cache that holds nothing modified (after the load). */
void store_release_memory(Store *s);
/* The bytes of the database's pages in use, a measure of what a load will allocate. */
uint64_t store_get_size(Store *s);
int store_load_jobs(Store *s, int (*reserve)(size_t n, void *userdata), int (*adopt)(Job *j, void *userdata),
                    void *userdata);

/* Temporary files that must still be removed (a Cancel could not unlink them, or the daemon
 * died between committing a cancel and unlinking). Keyed by (dir, name). */
int store_add_pending_unlink(Store *s, uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name);
int store_remove_pending_unlink(Store *s, const char *dir, const char *name);
/* A tus termination DELETE that Cancel could not deliver yet: retried in the background until
 * it succeeds or its deadline passes. Keyed by url. Times are realtime µs. */
typedef struct PendingDelete {
        char *url;
        uid_t owner;
        char **headers;         /* the job's extra request headers (secrets, like the job's) */
        uint64_t deadline;      /* give up after this */
        uint64_t next_try;
        uint32_t attempts;
} PendingDelete;

int store_save_pending_delete(Store *s, const PendingDelete *d);
int store_remove_pending_delete(Store *s, const char *url);
/* The callback gets a record it does not own (copy what it keeps); it may write the store. */
int store_load_pending_deletes(Store *s, int (*cb)(const PendingDelete *d, void *userdata), void *userdata);

int store_load_pending_unlinks(Store *s,
                               int (*cb)(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                                         void *userdata),
                               void *userdata);
