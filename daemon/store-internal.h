/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the store's files share: the Store itself and the helpers for its statements. The
 * public API is store.h. */

#include <assert.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "util.h"

#define STORE_FILE "xferd.db"
#define STORE_SCHEMA_VERSION 11
/* Only one daemon uses the file: a lock held longer than this is a second instance. */
#define STORE_BUSY_TIMEOUT_MSEC 200

struct Store {
        sqlite3 *db;
        sqlite3 *checkpoint_db;         /* the worker thread's, for checkpoints only */
        char *path;
        bool (*want_checkpoint)(void *userdata);
        void *want_checkpoint_userdata;
        int checkpoint_asked;   /* the log's frames when a checkpoint was last started */
        int lock_fd;            /* flock()ed for the store's lifetime: one daemon per store */

        unsigned depth;         /* store_begin() nesting */
        bool begun;             /* BEGIN ran: the first write of a transaction runs it */
        bool held;              /* store_commit() waits for the outermost store_end() */
        bool batch_open;        /* a batch's transaction waits between its calls */
        void (*release)(void *userdata);        /* commits it: before any other write */
        void *release_userdata;
        int error;              /* the first failure inside the open transaction: it is doomed */
        int64_t next_key;       /* store_new_key() */

        /* Cached: they run for every change of every job. */
        sqlite3_stmt *begin, *commit, *rollback;
        sqlite3_stmt *save_job, *save_counters, *save_file, *trim_files, *delete_job;
        sqlite3_stmt *add_unlink, *remove_unlink;
        sqlite3_stmt *save_delete, *remove_delete;
};

/* store-sql.c: SQLite helpers that need no Store */
/* For _cleanup_(): a statement prepared for one use is finalized; a cached one is reset and
 * its bindings cleared, ready for the next use. */
/* Every statement is finalized here: the parameter indexes remembered for it go with it. */
void sql_finalize(sqlite3_stmt *st);
/* Whether a parameter index of st is remembered (tests: sql_finalize() forgets them). */
bool sql_param_cache_knows(const sqlite3_stmt *st);
void sql_finalizep(sqlite3_stmt **st);
void sql_resetp(sqlite3_stmt **st);
int sql_to_errno(int rc);
bool sql_is_broken(int rc);
void sql_bind_text(sqlite3_stmt *st, const char *name, const char *v, int *rc);
void sql_bind_int64(sqlite3_stmt *st, const char *name, int64_t v, int *rc);
void sql_bind_uint64(sqlite3_stmt *st, const char *name, uint64_t v, int *rc);
void sql_bind_bool(sqlite3_stmt *st, const char *name, bool v, int *rc);
/* A job's groups as "1001 27 100" (no group: ""), and back; -EINVAL for anything else. */
int sql_join_gids(const gid_t *gids, int n, char **ret);
int sql_split_gids(const char *s, gid_t **ret, int *ret_n);
int sql_join_headers(char * const *headers, char **ret);
int sql_split_headers(const char *joined, char ***ret);
int sql_column_dup(sqlite3_stmt *st, int col, char **ret);

/* store.c: failures and running statements */
int store_doom(Store *s, int r);
/* sql_join_headers() of a header or mirror list into *ret; a list that cannot be stored dooms
 * the transaction, logged as "cannot save the <what> <key>" (never its values). */
int store_join_list(Store *s, char * const *l, const char *what, const char *key, char **ret);
_printf_(3, 4)
int store_fail(Store *s, int rc, const char *format, ...);
int store_check_usable(Store *s);
int store_run(Store *s, sqlite3_stmt *st, int rc, const char *what, const char *key);
/* store_run() of a statement with one parameter, `name`, bound to the text `key`. */
int store_run_keyed(Store *s, sqlite3_stmt *st, const char *name, const char *key, const char *what);
int store_read_all(Store *s, const char *sql, const char *what,
                   int (*row)(Store *s, sqlite3_stmt *st, void *userdata), void *userdata);

/* store-columns.c: the plain columns of the job, file and pending delete rows, one table each */
typedef enum StoreColumnKind {
        STORE_COLUMN_TEXT,      /* char *; NULL as NULL */
        STORE_COLUMN_NAME,      /* a name in a JobFile's block: saved as text, loaded by job_file_new() */
        STORE_COLUMN_BOOL,      /* bool, as 0 or 1 */
        STORE_COLUMN_U32,       /* uint32_t, unsigned, uid_t */
        STORE_COLUMN_U64,       /* uint64_t, dev_t, ino_t: the bit pattern (sql_bind_uint64()) */
} StoreColumnKind;

typedef struct StoreColumn {
        const char *param;      /* ":name": the column's name after the colon, also its field's */
        StoreColumnKind kind;
        bool insert_only;       /* never changes: written by the first insert only */
        size_t offset;          /* of the field in the record; its size is checked at compile time */
} StoreColumn;

typedef struct StoreColumnTable {
        const StoreColumn *columns;
        size_t n;
} StoreColumnTable;

/* The names of a JobFile: the first columns of store_file_columns, at these indices, the
 * order of job_file_new()'s arguments. */
typedef enum StoreFileName {
        STORE_FILE_NAME_URL,
        STORE_FILE_NAME_PATH,
        STORE_FILE_NAME_DIR,
        STORE_FILE_NAME_NAME,
        STORE_FILE_NAME_TEMP_NAME,
        _STORE_FILE_NAMES,
} StoreFileName;

extern const StoreColumnTable store_job_columns;        /* of a Job */
extern const StoreColumnTable store_file_columns;       /* of a JobFile */
extern const StoreColumnTable store_delete_columns;     /* of a PendingDelete */

/* How store_put_name() writes a name: as it is, as its parameter, or set from the row that
 * was not inserted. */
typedef enum StoreNameForm {
        STORE_NAME_PLAIN,
        STORE_NAME_PARAMETER,
        STORE_NAME_FROM_EXCLUDED,
} StoreNameForm;

/* Binds each column to its field of record (a Job or a JobFile, as the table says). */
void store_columns_bind(sqlite3_stmt *st, const StoreColumnTable *t, const void *record, int *rc);
/* Forgets where st binds the tables' columns (sql_finalize()); whether it is remembered (tests). */
void store_columns_forget(const sqlite3_stmt *st);
bool store_columns_known(const sqlite3_stmt *st);
/* Reads each column (the first at result column `first`) into its field of a fresh record;
 * -ENOMEM, with the texts read so far in the record. */
int store_columns_read(sqlite3_stmt *st, int first, const StoreColumnTable *t, void *record);
/* Writes name, after ", " unless *first (which it clears). */
void store_put_name(FILE *f, const char *name, StoreNameForm form, bool *first);
/* store_put_name() of every column; FROM_EXCLUDED leaves out the insert-only ones. */
void store_columns_put_names(FILE *f, const StoreColumnTable *t, StoreNameForm form, bool *first);
/* head, then the table's columns each after ", ", then " " and tail; NULL when out of memory. */
char *store_columns_select(const char *head, const StoreColumnTable *t, const char *tail);

/* store-schema.c: the tables, their migrations, the cached statements */
int store_schema_migrate(Store *s, int from);
int store_schema_prepare(Store *s);
void store_schema_finalize(Store *s);

/* store-pending.c: pending unlink records as read from a store, before they are handed on */
typedef struct StoreUnlink {
        uid_t owner;
        char *dir;
        dev_t dev;
        ino_t ino;
        char *name;
} StoreUnlink;

typedef struct StoreUnlinkList {
        StoreUnlink *items;
        size_t n, allocated;
} StoreUnlinkList;

/* Appends a record with copies of dir and name. */
int store_unlink_list_add(StoreUnlinkList *l, uid_t owner, const char *dir, dev_t dev, ino_t ino,
                          const char *name);
/* Frees the records and leaves an empty list; for _cleanup_() too. */
void store_unlink_list_done(StoreUnlinkList *l);

/* store-salvage.c: the temporary files of the jobs in a store that is moved aside */
/* Reads what it can of the temporary files the broken database lists (its jobs' files and its
 * pending unlinks) into *v; reads that fail end early without an error. */
void store_salvage_read(sqlite3 *db, StoreUnlinkList *v);
/* Records them as pending unlinks of the (fresh) store s. */
int store_salvage_keep(Store *s, const StoreUnlinkList *v);

/* store-disk.c: the store's files on disk */
int store_disk_mkdir(const char *dir);
int store_disk_make_private(const char *path, bool create);
int store_disk_check_header(const char *path, const char *wal, char *why, size_t why_size);
int store_disk_move_aside(const char *path, char **ret_target);
