/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store itself: opening (with the lock that keeps it to one daemon, the checks that
 * catch a broken file, and moving one aside), closing, failures, transactions. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>

#include "log.h"
#include "store-internal.h"

/* One daemon per store already (the flock). unix-excl takes the file's lock once and keeps it,
 * and keeps the WAL index in this process's memory, shared by its connections: no fcntl() per
 * transaction (as exclusive locking mode), and still a second connection, on a worker
 * thread, for checkpoints (store_checkpoint()), which exclusive locking mode would shut out. */
#define STORE_VFS "unix-excl"
/* The most of the file that the open's check reads through a mapping. */
#define STORE_CHECK_MMAP_SIZE "1073741824"

static void store_closep(Store **s) {
        store_close(*s);
}

/* Any failed write inside a transaction dooms it: the outermost store_end() rolls back
 * instead of committing half of a change. */
int store_doom(Store *s, int r) {
        assert(s);
        assert(r < 0);

        if (s->depth > 0 && s->error == 0)
                s->error = r;
        return r;
}

int store_join_list(Store *s, char * const *l, const char *what, const char *key, char **ret) {
        int r;

        assert(s);
        assert(what);
        assert(key);
        assert(ret);

        r = sql_join_headers(l, ret);
        if (r < 0)
                return store_doom(s, log_error_errno(r, "Store %s: cannot save the %s %s", s->path, what, key));
        return 0;
}

/* Logs a failed SQLite call with SQLite's own message and returns it as a negative errno.
 * Inside a transaction it also dooms the transaction. */
_printf_(3, 4)
int store_fail(Store *s, int rc, const char *format, ...) {
        char what[256];
        va_list ap;
        int r = sql_to_errno(rc);

        assert(s);
        assert(format);

        va_start(ap, format);
        vsnprintf(what, sizeof what, format, ap);
        va_end(ap);
        log_error("Store %s: failed to %s: %s", s->path, what,
                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return store_doom(s, r);
}

/* After a failure inside a transaction SQLite may already have rolled it back by itself
 * (disk full, I/O error); running more statements would then autocommit them one by one. */
int store_check_usable(Store *s) {
        assert(s);
        return s->depth > 0 ? s->error : 0;
}

/* Another writer while a batch waits: the batch is committed (and told) first. */
static void store_release_batch(Store *s) {
        if (s->batch_open && !s->held && s->release)
                s->release(s->release_userdata);
}

/* BEGIN, COMMIT and ROLLBACK: the same as a statement, without the lazy BEGIN below. */
static int store_run_control(Store *s, sqlite3_stmt *st, const char *what) {
        _cleanup_(sql_resetp) sqlite3_stmt *reset = st;
        int rc = sqlite3_step(st);

        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return store_fail(s, rc, "%s", what);
        return 0;
}

/* A transaction's BEGIN runs with its first write: one that writes nothing (a job's steps
 * that found nothing to change) costs no BEGIN and COMMIT. */
static int store_begin_now(Store *s) {
        int r;

        if (s->depth == 0 || s->begun)
                return 0;
        r = store_run_control(s, s->begin, "begin a transaction");
        if (r < 0)
                return r;
        s->begun = true;
        return 0;
}

/* Runs a statement that returns no rows (rc holds the result of binding it), refuses it in a
 * doomed transaction, and makes it ready for the next use whatever happens. */
int store_run(Store *s, sqlite3_stmt *st, int rc, const char *what, const char *key) {
        _cleanup_(sql_resetp) sqlite3_stmt *reset = st;
        int r;

        assert(s);
        assert(st);
        assert(what);

        store_release_batch(s);
        r = store_check_usable(s);
        if (r < 0)
                return r;
        r = store_begin_now(s);
        if (r < 0)
                return r;
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                        rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK)
                return key ? store_fail(s, rc, "%s %s", what, key) : store_fail(s, rc, "%s", what);
        return 0;
}

int store_run_keyed(Store *s, sqlite3_stmt *st, const char *name, const char *key, const char *what) {
        int rc = SQLITE_OK;

        assert(s);
        assert(st);
        assert(name);
        assert(key);
        assert(what);

        sql_bind_text(st, name, key, &rc);
        return store_run(s, st, rc, what, key);
}

/* Runs a SELECT to its end, handing each row to `row` (which copies what it keeps; a negative
 * return stops), and finalizes it before returning: the caller may then hand the rows to
 * callbacks that write the same tables, which under a running SELECT has unspecified effects. */
int store_read_all(Store *s, const char *sql, const char *what,
                   int (*row)(Store *s, sqlite3_stmt *st, void *userdata), void *userdata) {
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        int rc, r;

        assert(s);
        assert(sql);
        assert(what);
        assert(row);

        r = store_check_usable(s);
        if (r < 0)
                return r;
        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare loading %s", what);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = row(s, st, userdata);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "load %s", what);
        return 0;
}

/* ---- opening ---------------------------------------------------------------------------- */

static int store_pragma_int(sqlite3 *db, const char *sql, int *ret) {
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
        *ret = sqlite3_column_int(st, 0);
        return SQLITE_OK;
}

/* Reads every page of every table and index, so a truncated file or a damaged page shows up
 * now rather than as a failure in the middle of the daemon's work. */
static int store_quick_check(sqlite3 *db, bool *ret_ok) {
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        bool ok = true;
        int rc;

        rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *t = (const char *) sqlite3_column_text(st, 0);
                if (!t || !streq(t, "ok"))
                        ok = false;
        }
        if (rc != SQLITE_DONE)
                return rc;
        *ret_ok = ok;
        return SQLITE_OK;
}

/* pages: the frames in the log. Under a steady run of commits the log does not start over (a
 * commit's transaction began before the checkpoint beside it copied the last frame), so its
 * length alone asked again after every commit: checkpoint after checkpoint, each copying the
 * few frames since the last and syncing the log and the database, about 165 of them for
 * 10 000 Download calls. */
static int store_wal_hook(void *userdata, sqlite3 *db, const char *name, int pages) {
        Store *s = userdata;

        if (pages < s->checkpoint_asked)
                s->checkpoint_asked = 0;        /* the log started over */
        if (pages - s->checkpoint_asked >= STORE_CHECKPOINT_PAGES && s->want_checkpoint &&
            s->want_checkpoint(s->want_checkpoint_userdata))
                s->checkpoint_asked = pages;
        return SQLITE_OK;
}

void store_set_checkpoint_callback(Store *s, bool (*want)(void *userdata), void *userdata) {
        assert(s);

        s->want_checkpoint = want;
        s->want_checkpoint_userdata = userdata;
}

int store_checkpoint(Store *s) {
        int rc, log_pages = 0, copied = 0;

        assert(s);

        if (!s->checkpoint_db) {
                rc = sqlite3_open_v2(s->path, &s->checkpoint_db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, STORE_VFS);
                if (rc != SQLITE_OK) {
                        log_warning("Store %s: cannot open a connection for checkpoints: %s", s->path,
                                    s->checkpoint_db ? sqlite3_errmsg(s->checkpoint_db) : sqlite3_errstr(rc));
                        sqlite3_close_v2(s->checkpoint_db);
                        s->checkpoint_db = NULL;
                        return sql_to_errno(rc);
                }
                sqlite3_extended_result_codes(s->checkpoint_db, 1);
                /* Its own close must not checkpoint again or delete the log under the loop. */
                (void) sqlite3_db_config(s->checkpoint_db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
                /* A connection finds the log only once it has read the database. */
                rc = sqlite3_exec(s->checkpoint_db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
                if (rc != SQLITE_OK) {
                        log_warning("Store %s: cannot read it for checkpoints: %s", s->path,
                                    sqlite3_errmsg(s->checkpoint_db));
                        sqlite3_close_v2(s->checkpoint_db);
                        s->checkpoint_db = NULL;
                        return sql_to_errno(rc);
                }
        }
        /* Passive: copies what no reader needs any more, never waits for the loop's writes. */
        rc = sqlite3_wal_checkpoint_v2(s->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
                log_warning("Store %s: checkpoint failed: %s", s->path, sqlite3_errmsg(s->checkpoint_db));
                return sql_to_errno(rc);
        }
        if (log_pages < 0)
                return -EIO;
        return log_pages > copied ? log_pages - copied : 0;
}

uint64_t store_get_size(Store *s) {
        int pages = 0, free_pages = 0, page_size = 0;

        assert(s);

        /* The pages in use: a store that once held many more jobs keeps its free pages. */
        if (!s->db || store_pragma_int(s->db, "PRAGMA page_count", &pages) != SQLITE_OK ||
            store_pragma_int(s->db, "PRAGMA freelist_count", &free_pages) != SQLITE_OK ||
            store_pragma_int(s->db, "PRAGMA page_size", &page_size) != SQLITE_OK || free_pages < 0 ||
            pages < free_pages || page_size < 0)
                return 0;
        return (uint64_t) (pages - free_pages) * (uint64_t) page_size;
}

/* SQLite failed while opening: a file that is no database or is corrupt is to be moved aside
 * (-EBADMSG, *why filled), anything else fails the open. */
static int store_open_db_failed(Store *s, int rc, char *why, size_t why_size) {
        if (sql_is_broken(rc)) {
                snprintf(why, why_size, "%s (%s)",
                         (rc & 0xff) == SQLITE_NOTADB ? "is not a database" : "is corrupt",
                         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                return -EBADMSG;
        }
        return store_fail(s, rc, "open the database");
}

/* Opens and checks the database. Returns -EBADMSG with *why filled when the file must be moved
 * aside (without logging: the caller says it once); other errors are logged. */
static int store_open_db(Store *s, char *why, size_t why_size) {
        _cleanup_free_ char *wal = NULL, *shm = NULL;
        const char *journal;
        int rc, r, version, n_objects;
        bool ok = false;

        r = store_disk_make_private(s->path, true);
        if (r < 0)
                return r;
        /* What a failed asprintf() left is undefined: NULL for the cleanup. */
        if (asprintf(&wal, "%s-wal", s->path) < 0) {
                wal = NULL;
                return log_oom();
        }
        if (asprintf(&shm, "%s-shm", s->path) < 0) {
                shm = NULL;
                return log_oom();
        }
        r = store_disk_make_private(wal, false);
        if (r < 0)
                return r;
        r = store_disk_make_private(shm, false);
        if (r < 0)
                return r;
        r = store_disk_check_header(s->path, wal, why, why_size);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        /* SQLite counts every allocation of its own under a global mutex (the memory status),
         * for sqlite3_memory_used() and a soft heap limit, which xferd never asks for: 14
         * allocations of a Download call's two rows and its batch's commit. Only before SQLite
         * initializes itself (the first open); later it refuses, harmlessly. */
        (void) sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        /* One thread uses the connection; no symlink is followed into someone else's file. */
        rc = sqlite3_open_v2(s->path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_NOFOLLOW, STORE_VFS);
        if (rc != SQLITE_OK)
                return store_open_db_failed(s, rc, why, why_size);
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MSEC);

        /* The first statement that reads the file: garbage fails here with SQLITE_NOTADB. */
        {
                _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;

                rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                if (rc != SQLITE_ROW)
                        return store_open_db_failed(s, rc, why, why_size);
                journal = (const char *) sqlite3_column_text(st, 0);
                if (!journal || !streq(journal, "wal"))
                        log_warning("Store %s: cannot use write-ahead logging (journal mode is %s); "
                                    "continuing with less crash safety.", s->path, strempty(journal));
        }

        /* NORMAL in WAL mode: every commit survives a crash of xferd; a power cut may lose the
         * last commits but never corrupts. secure_delete keeps deleted headers off free pages. */
        rc = sqlite3_exec(s->db,
                          "PRAGMA synchronous = NORMAL;"
                          "PRAGMA foreign_keys = ON;"
                          "PRAGMA secure_delete = FAST;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return store_open_db_failed(s, rc, why, why_size);

        /* No checkpoint inside a commit: the wal hook (store_set_checkpoint_callback) replaces
         * SQLite's automatic one. */
        sqlite3_wal_hook(s->db, store_wal_hook, s);

        /* The check reads every page once: mapped, SQLite reads them in place rather than
         * copying each through pread() into its cache (100 000 jobs: a third less CPU). The
         * file is unmapped right after it: its pages do not stay in the daemon's RSS, and a
         * read error later (the load, a salvage) is an error, not a SIGBUS. Without mmap in
         * this SQLite, the check reads through pread() as before. */
        (void) sqlite3_exec(s->db, "PRAGMA mmap_size = " STORE_CHECK_MMAP_SIZE, NULL, NULL, NULL);
        rc = store_quick_check(s->db, &ok);
        (void) sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return store_open_db_failed(s, rc, why, why_size);
        if (!ok) {
                snprintf(why, why_size, "is corrupt (integrity check failed)");
                return -EBADMSG;
        }

        rc = store_pragma_int(s->db, "PRAGMA user_version", &version);
        if (rc != SQLITE_OK)
                return store_open_db_failed(s, rc, why, why_size);
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(why, why_size, "has schema version %d, newer than this xferd knows (%d)",
                         version, STORE_SCHEMA_VERSION);
                return -EBADMSG;
        }
        if (version == 0) {
                /* Version 0 must be an empty file, not someone else's database. */
                rc = store_pragma_int(s->db, "SELECT count(*) FROM sqlite_schema", &n_objects);
                if (rc != SQLITE_OK)
                        return store_open_db_failed(s, rc, why, why_size);
                if (n_objects > 0) {
                        snprintf(why, why_size, "is not an xferd store (it holds other tables)");
                        return -EBADMSG;
                }
        }
        if (version < STORE_SCHEMA_VERSION) {
                rc = store_schema_migrate(s, version);
                if (rc != SQLITE_OK)
                        return store_open_db_failed(s, rc, why, why_size);
        }
        return 0;
}

static void store_close_db(Store *s) {
        store_schema_finalize(s);
        /* Every statement is finalized, so this closes for real (and rolls back if needed). */
        sqlite3_close_v2(s->db);
        s->db = NULL;
}

/* An instance activated while the previous one still drains its last calls waits here until
 * that one exits: two daemons never work on one store. */
static int store_lock(Store *s, const char *dir) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/lock", dir) < 0)
                return log_oom();
        s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
                return log_error_errno(errno, "Cannot open %s", path);
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) >= 0)
                return 0;
        if (errno != EWOULDBLOCK)
                return log_error_errno(errno, "Cannot lock %s", path);
        log_info("Another xferd still uses %s; waiting for it to exit.", dir);
        while (flock(s->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "Cannot lock %s", path);
        return 0;
}

int store_open(const char *dir, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_unlink_list_done) StoreUnlinkList salvage = { .n = 0 };
        char why[512] = "";
        int r;

        assert(dir);
        assert(ret);

        if (isempty(dir))
                return -EINVAL;

        r = store_disk_mkdir(dir);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Store));
        if (!s)
                return log_oom();
        s->lock_fd = -1;
        if (asprintf(&s->path, "%s/" STORE_FILE, dir) < 0) {
                s->path = NULL;
                return log_oom();
        }

        r = store_lock(s, dir);
        if (r < 0)
                return r;

        r = store_open_db(s, why, sizeof why);
        if (r == -EBADMSG) {
                _cleanup_free_ char *target = NULL;

                /* Leave the -wal as it is: no checkpoint into the broken file, no deletion. */
                if (s->db) {
                        (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
                        store_salvage_read(s->db, &salvage);
                }
                store_close_db(s);
                r = store_disk_move_aside(s->path, &target);
                if (r < 0)
                        return r;
                log_warning("Store %s %s; moved it to %s and starting with an empty store.",
                            s->path, why, target);

                r = store_open_db(s, why, sizeof why);
                if (r == -EBADMSG)
                        return log_error_errno(EBADMSG, "Fresh store %s %s", s->path, why);
        }
        if (r < 0)
                return r;

        r = store_schema_prepare(s);
        if (r < 0)
                return r;
        r = store_salvage_keep(s, &salvage);
        if (r < 0)
                log_warning_errno(r, "Store %s: cannot record the temporary files of the broken store's jobs; "
                                  "files named .*.xferd-<job id>-<n> may remain", s->path);

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->depth > 0)
                log_warning("Store %s closed inside a transaction; its changes are rolled back.", s->path);
        sqlite3_close_v2(s->checkpoint_db);
        if (s->db)
                store_close_db(s);
        safe_close(s->lock_fd);
        free(s->path);
        return mfree(s);
}

/* ---- transactions ----------------------------------------------------------------------- */

int store_begin(Store *s) {
        assert(s);

        store_release_batch(s);
        if (s->depth == 0) {
                s->begun = false;
                s->error = 0;
        }
        s->depth++;
        return 0;
}

int store_end(Store *s) {
        int r;

        assert(s);

        if (s->depth == 0)
                return log_error_errno(EINVAL, "Store %s: store_end() without store_begin()", s->path);
        if (--s->depth > 0)
                return 0;

        r = s->error;
        s->error = 0;
        if (!s->begun)
                return r;  /* nothing was written */
        s->begun = false;
        if (r == 0) {
                r = store_run_control(s, s->commit, "commit");
                if (r >= 0)
                        return 0;
        }
        /* A failed statement or commit: nothing of the transaction may remain. SQLite may have
         * rolled back by itself already. */
        if (!sqlite3_get_autocommit(s->db))
                (void) store_run_control(s, s->rollback, "roll back");
        return r;
}

void store_hold(Store *s, bool held) {
        assert(s);

        s->held = held;
}

void store_set_batch_release(Store *s, void (*release)(void *userdata), void *userdata) {
        assert(s);

        s->release = release;
        s->release_userdata = userdata;
}

void store_set_batch_open(Store *s, bool open) {
        assert(s);

        s->batch_open = open;
}

int store_commit(Store *s) {
        unsigned depth;
        int r, k;

        assert(s);

        store_release_batch(s);
        if (s->depth == 0)
                return 0;  /* every statement committed itself */
        if (s->held)
                return s->error;
        depth = s->depth;
        s->depth = 1;
        r = store_end(s);
        k = store_begin(s);
        s->depth = depth;
        /* A failed commit was rolled back, a failed begin leaves no transaction: either way the
         * rest of the caller's transaction must not commit without its first half, so it is
         * doomed like one whose statement failed (the outer store_end() reports it). */
        if (r < 0 || k < 0)
                s->error = r < 0 ? r : k;
        return r < 0 ? r : k;
}

