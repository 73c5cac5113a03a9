/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "job.h"
#include "job-record.h"
#include "log.h"
#include "store.h"
#include "store-internal.h"

static void store_closep(Store **s) {
        store_close(*s);
}

/* Any failed write inside a transaction dooms it: the outermost store_end() rolls back
 * instead of committing half of a change. */
int store_doom(Store *s, int r) {
        if (s->depth > 0 && s->error == 0)
                s->error = r;
        return r;
}

/* Logs a failed SQLite call with SQLite's own message and returns it as a negative errno.
 * Inside a transaction it also dooms the transaction. */
_printf_(3, 4)
int store_fail(Store *s, int rc, const char *format, ...) {
        char what[256];
        va_list ap;
        int r = errno_from_sqlite(rc);

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
        return s->depth > 0 ? s->error : 0;
}

/* Runs a statement that returns no rows and makes it ready for the next use. */
int store_run(Store *s, sqlite3_stmt *st, int rc, const char *what, const char *key) {
        int r = 0;

        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                        rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK)
                r = key ? store_fail(s, rc, "%s %s", what, key) : store_fail(s, rc, "%s", what);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return r;
}

/* ---- opening ---------------------------------------------------------------------------- */

static int pragma_int(sqlite3 *db, const char *sql, int *ret) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
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
static int quick_check(sqlite3 *db, bool *ret_ok) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
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

/* Opens and checks the database. Returns -EBADMSG with *why filled when the file must be moved
 * aside (without logging: the caller says it once); other errors are logged. */
static int store_open_db(Store *s, char *why, size_t why_size) {
        _cleanup_free_ char *wal = NULL, *shm = NULL;
        const char *journal;
        int rc, r, version, n_objects;
        bool ok = false;

        r = make_private(s->path, true);
        if (r < 0)
                return r;
        if (asprintf(&wal, "%s-wal", s->path) < 0 || asprintf(&shm, "%s-shm", s->path) < 0)
                return log_oom();
        r = make_private(wal, false);
        if (r < 0)
                return r;
        r = make_private(shm, false);
        if (r < 0)
                return r;
        r = check_header(s->path, wal, why, why_size);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        /* One thread uses the connection; no symlink is followed into someone else's file. */
        rc = sqlite3_open_v2(s->path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_NOFOLLOW, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MSEC);

        /* One daemon per store already (the flock): SQLite may keep its locks instead of taking
         * and dropping four fcntl() locks per transaction, and, set before the first WAL access,
         * keeps the WAL index in memory instead of a shared-memory file. */
        rc = sqlite3_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                goto fail;

        /* The first statement that reads the file: garbage fails here with SQLITE_NOTADB. */
        {
                _cleanup_finalize_ sqlite3_stmt *st = NULL;

                rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                if (rc != SQLITE_ROW)
                        goto fail;
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
                goto fail;

        rc = quick_check(s->db, &ok);
        if (rc != SQLITE_OK)
                goto fail;
        if (!ok) {
                snprintf(why, why_size, "is corrupt (integrity check failed)");
                return -EBADMSG;
        }

        rc = pragma_int(s->db, "PRAGMA user_version", &version);
        if (rc != SQLITE_OK)
                goto fail;
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(why, why_size, "has schema version %d, newer than this xferd knows (%d)",
                         version, STORE_SCHEMA_VERSION);
                return -EBADMSG;
        }
        if (version == 0) {
                /* Version 0 must be an empty file, not someone else's database. */
                rc = pragma_int(s->db, "SELECT count(*) FROM sqlite_schema", &n_objects);
                if (rc != SQLITE_OK)
                        goto fail;
                if (n_objects > 0) {
                        snprintf(why, why_size, "is not an xferd store (it holds other tables)");
                        return -EBADMSG;
                }
        }
        if (version < STORE_SCHEMA_VERSION) {
                rc = migrate(s, version);
                if (rc != SQLITE_OK)
                        goto fail;
        }
        return 0;

fail:
        if (sqlite_is_broken(rc)) {
                snprintf(why, why_size, "%s (%s)",
                         (rc & 0xff) == SQLITE_NOTADB ? "is not a database" : "is corrupt",
                         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                return -EBADMSG;
        }
        return store_fail(s, rc, "open the database");
}

static void store_close_db(Store *s) {
        sqlite3_stmt **cached[] = {
                &s->begin, &s->commit, &s->rollback, &s->save_job, &s->save_file,
                &s->trim_files, &s->delete_job, &s->add_unlink, &s->remove_unlink,
                &s->save_delete, &s->remove_delete,
        };

        for (size_t i = 0; i < ELEMENTSOF(cached); i++) {
                sqlite3_finalize(*cached[i]);
                *cached[i] = NULL;
        }
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
        char why[512] = "";
        int r;

        if (isempty(dir) || !ret)
                return -EINVAL;

        r = mkdir_state_dir(dir);
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
                if (s->db)
                        (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
                store_close_db(s);
                r = move_aside(s->path, &target);
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

        r = store_prepare_cached(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->depth > 0)
                log_warning("Store %s closed inside a transaction; its changes are rolled back.", s->path);
        if (s->db)
                store_close_db(s);
        safe_close(s->lock_fd);
        free(s->path);
        free(s);
        return NULL;
}

/* ---- transactions ----------------------------------------------------------------------- */

int store_begin(Store *s) {
        if (!s)
                return -EINVAL;
        if (s->depth == 0) {
                int r = store_run(s, s->begin, SQLITE_OK, "begin a transaction", NULL);
                if (r < 0)
                        return r;
                s->error = 0;
        }
        s->depth++;
        return 0;
}

int store_end(Store *s) {
        int r;

        if (!s)
                return -EINVAL;
        if (s->depth == 0)
                return log_error_errno(EINVAL, "Store %s: store_end() without store_begin()", s->path);
        if (--s->depth > 0)
                return 0;

        r = s->error;
        s->error = 0;
        if (r == 0) {
                r = store_run(s, s->commit, SQLITE_OK, "commit", NULL);
                if (r >= 0)
                        return 0;
        }
        /* A failed statement or commit: nothing of the transaction may remain. SQLite may have
         * rolled back by itself already. */
        if (!sqlite3_get_autocommit(s->db))
                (void) store_run(s, s->rollback, SQLITE_OK, "roll back", NULL);
        return r;
}

int store_commit(Store *s) {
        unsigned depth;
        int r, k;

        if (!s)
                return -EINVAL;
        if (s->depth == 0)
                return 0;  /* every statement committed itself */
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

/* ---- jobs ------------------------------------------------------------------------------- */

int store_save_job_row(Store *s, const Job *j) {
        _cleanup_free_ char *headers = NULL;
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !j)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        r = join_headers(j->http_headers, &headers);
        if (r < 0)
                return store_doom(s, log_error_errno(r, "Store %s: cannot save the headers of job %s",
                                                     s->path, j->id));

        st = s->save_job;
        bind_text(st, ":id", j->id, &rc);
        bind_text(st, ":type", job_type_to_string(j->type), &rc);
        bind_int64(st, ":owner", (int64_t) j->owner, &rc);
        bind_text(st, ":display_name", j->display_name, &rc);
        bind_text(st, ":description", j->description, &rc);
        bind_text(st, ":state", job_state_to_string(j->state), &rc);
        bind_text(st, ":priority", job_priority_to_string(j->priority), &rc);
        bind_bool(st, ":auto_complete", j->auto_complete, &rc);
        bind_bool(st, ":allow_insecure_redirect", j->allow_insecure_redirect, &rc);
        bind_uint64(st, ":bandwidth_limit", j->bandwidth_limit, &rc);
        bind_int64(st, ":minimum_retry_delay", j->minimum_retry_delay, &rc);
        bind_int64(st, ":no_progress_timeout", j->no_progress_timeout, &rc);
        bind_text(st, ":http_headers", headers, &rc);
        bind_uint64(st, ":creation_time", j->creation_time, &rc);
        bind_uint64(st, ":modification_time", j->modification_time, &rc);
        bind_uint64(st, ":completion_time", j->completion_time, &rc);
        bind_uint64(st, ":last_progress_time", j->last_progress_time, &rc);
        bind_uint64(st, ":retry_time", j->retry_time, &rc);
        bind_uint64(st, ":retire_time", j->retire_time, &rc);
        bind_text(st, ":error_name", j->error_name, &rc);
        bind_text(st, ":error_message", j->error_message, &rc);
        bind_text(st, ":error_summary", j->error_summary, &rc);
        bind_int64(st, ":error_count", j->error_count, &rc);
        bind_text(st, ":upload_url", j->upload_url, &rc);
        return store_run(s, st, rc, "save job", j->id);
}

static int save_file_row(Store *s, const Job *j, size_t index) {
        const JobFile *f = j->files[index];
        sqlite3_stmt *st = s->save_file;
        int rc = SQLITE_OK;

        bind_text(st, ":job_id", j->id, &rc);
        bind_int64(st, ":idx", (int64_t) index, &rc);
        bind_text(st, ":url", f->url, &rc);
        bind_text(st, ":path", f->path, &rc);
        bind_text(st, ":dir", f->dir, &rc);
        bind_text(st, ":name", f->name, &rc);
        bind_text(st, ":temp_name", f->temp_name, &rc);
        bind_uint64(st, ":dir_dev", (uint64_t) f->dir_dev, &rc);
        bind_uint64(st, ":dir_ino", (uint64_t) f->dir_ino, &rc);
        bind_bool(st, ":temp_exists", f->temp_exists, &rc);
        bind_bool(st, ":completed", f->completed, &rc);
        bind_bool(st, ":committed", f->committed, &rc);
        bind_uint64(st, ":bytes_total", f->bytes_total, &rc);
        bind_uint64(st, ":bytes_transferred", f->bytes_transferred, &rc);
        bind_text(st, ":validator", f->validator, &rc);
        return store_run(s, st, rc, "save a file of job", j->id);
}

int store_save_file(Store *s, const Job *j, size_t index) {
        int r;

        if (!s || !j || index >= j->n_files)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        return save_file_row(s, j, index);
}

int store_save_job(Store *s, const Job *j) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r, k;

        if (!s || !j)
                return -EINVAL;
        /* One transaction: one sync point for hundreds of files, and all or nothing. */
        r = store_begin(s);
        if (r < 0)
                return r;

        r = store_save_job_row(s, j);
        for (size_t i = 0; r >= 0 && i < j->n_files; i++)
                r = save_file_row(s, j, i);
        if (r >= 0) {
                /* Rows past the end would come back as files the job no longer has. */
                st = s->trim_files;
                bind_text(st, ":job_id", j->id, &rc);
                bind_int64(st, ":n", (int64_t) j->n_files, &rc);
                r = store_run(s, st, rc, "trim the files of job", j->id);
        }

        k = store_end(s);
        return r < 0 ? r : k;
}

int store_delete_job(Store *s, const char *id) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !id)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        /* The files go with it: ON DELETE CASCADE. */
        st = s->delete_job;
        bind_text(st, ":id", id, &rc);
        return store_run(s, st, rc, "delete job", id);
}

/* ---- loading ---------------------------------------------------------------------------- */

static void job_file_freep(JobFile **f) {
        job_file_free(*f);
}

static void loaded_job_freep(Job **j) {
        job_record_free(*j);
}

typedef struct JobList {
        Job **jobs;
        size_t n, allocated;
} JobList;

static void job_list_done(JobList *l) {
        for (size_t i = 0; i < l->n; i++)
                job_record_free(l->jobs[i]);
        free(l->jobs);
}

/* Column order of the SELECTs below. */
enum {
        JC_ID, JC_TYPE, JC_OWNER, JC_DISPLAY_NAME, JC_DESCRIPTION, JC_STATE, JC_PRIORITY,
        JC_AUTO_COMPLETE, JC_ALLOW_INSECURE_REDIRECT, JC_BANDWIDTH_LIMIT, JC_MINIMUM_RETRY_DELAY,
        JC_NO_PROGRESS_TIMEOUT, JC_HTTP_HEADERS, JC_CREATION_TIME, JC_MODIFICATION_TIME,
        JC_COMPLETION_TIME, JC_LAST_PROGRESS_TIME, JC_RETRY_TIME, JC_RETIRE_TIME, JC_ERROR_NAME,
        JC_ERROR_MESSAGE, JC_ERROR_SUMMARY, JC_ERROR_COUNT, JC_UPLOAD_URL,
};

enum {
        FC_URL, FC_PATH, FC_DIR, FC_NAME, FC_TEMP_NAME, FC_DIR_DEV, FC_DIR_INO, FC_TEMP_EXISTS,
        FC_COMPLETED, FC_COMMITTED, FC_BYTES_TOTAL, FC_BYTES_TRANSFERRED, FC_VALIDATOR,
};

static int load_files(Store *s, sqlite3_stmt *st, Job *j) {
        size_t allocated = 0;
        int rc, r;

        rc = sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                goto fail;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                _cleanup_(job_file_freep) JobFile *f = NULL;

                f = calloc(1, sizeof(JobFile));
                if (!f ||
                    !column_dup(st, FC_URL, &f->url) || !column_dup(st, FC_PATH, &f->path) ||
                    !column_dup(st, FC_DIR, &f->dir) || !column_dup(st, FC_NAME, &f->name) ||
                    !column_dup(st, FC_TEMP_NAME, &f->temp_name) ||
                    !column_dup(st, FC_VALIDATOR, &f->validator)) {
                        rc = SQLITE_NOMEM;
                        goto fail;
                }
                f->dir_dev = (dev_t) sqlite3_column_int64(st, FC_DIR_DEV);
                f->dir_ino = (ino_t) sqlite3_column_int64(st, FC_DIR_INO);
                f->temp_exists = sqlite3_column_int64(st, FC_TEMP_EXISTS) != 0;
                f->completed = sqlite3_column_int64(st, FC_COMPLETED) != 0;
                f->committed = sqlite3_column_int64(st, FC_COMMITTED) != 0;
                f->bytes_total = (uint64_t) sqlite3_column_int64(st, FC_BYTES_TOTAL);
                f->bytes_transferred = (uint64_t) sqlite3_column_int64(st, FC_BYTES_TRANSFERRED);

                if (array_reserve((void **) &j->files, &allocated, j->n_files + 1, sizeof(JobFile *)) < 0) {
                        rc = SQLITE_NOMEM;
                        goto fail;
                }
                j->files[j->n_files++] = TAKE_PTR(f);
        }
        if (rc != SQLITE_DONE)
                goto fail;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return 0;

fail:
        r = rc == SQLITE_NOMEM ? log_oom() : store_fail(s, rc, "load the files of job %s", j->id);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return r;
}

/* Returns 1 and the job, 0 for a row that cannot be a job (skipped with a warning), or a
 * negative errno. */
static int load_job(Store *s, sqlite3_stmt *st, sqlite3_stmt *files, Job **ret) {
        _cleanup_(loaded_job_freep) Job *j = NULL;
        const char *id = (const char *) sqlite3_column_text(st, JC_ID);
        const char *type = (const char *) sqlite3_column_text(st, JC_TYPE);
        const char *state = (const char *) sqlite3_column_text(st, JC_STATE);
        const char *priority = (const char *) sqlite3_column_text(st, JC_PRIORITY);
        _cleanup_free_ char *headers = NULL;
        int r;

        if (!id || !type || !state || !priority)
                return log_oom();
        /* Only a damaged row gets here: a newer xferd would have raised the schema version. */
        if (isempty(id) || strlen(id) >= sizeof(j->id) || job_type_from_string(type) < 0 ||
            job_state_from_string(state) < 0 || job_priority_from_string(priority) < 0) {
                log_warning("Store %s: skipping unreadable job \"%.40s\" (type %.20s, state %.20s, priority %.20s).",
                            s->path, id, type, state, priority);
                return 0;
        }

        j = calloc(1, sizeof(Job));
        if (!j)
                return log_oom();
        j->fd = -1;
        strcpy(j->id, id);
        j->type = job_type_from_string(type);
        j->state = job_state_from_string(state);
        j->priority = job_priority_from_string(priority);
        j->owner = (uid_t) sqlite3_column_int64(st, JC_OWNER);
        j->auto_complete = sqlite3_column_int64(st, JC_AUTO_COMPLETE) != 0;
        j->allow_insecure_redirect = sqlite3_column_int64(st, JC_ALLOW_INSECURE_REDIRECT) != 0;
        j->bandwidth_limit = (uint64_t) sqlite3_column_int64(st, JC_BANDWIDTH_LIMIT);
        j->minimum_retry_delay = (uint32_t) sqlite3_column_int64(st, JC_MINIMUM_RETRY_DELAY);
        j->no_progress_timeout = (uint32_t) sqlite3_column_int64(st, JC_NO_PROGRESS_TIMEOUT);
        j->creation_time = (uint64_t) sqlite3_column_int64(st, JC_CREATION_TIME);
        j->modification_time = (uint64_t) sqlite3_column_int64(st, JC_MODIFICATION_TIME);
        j->completion_time = (uint64_t) sqlite3_column_int64(st, JC_COMPLETION_TIME);
        j->last_progress_time = (uint64_t) sqlite3_column_int64(st, JC_LAST_PROGRESS_TIME);
        j->retry_time = (uint64_t) sqlite3_column_int64(st, JC_RETRY_TIME);
        j->retire_time = (uint64_t) sqlite3_column_int64(st, JC_RETIRE_TIME);
        j->error_count = (uint32_t) sqlite3_column_int64(st, JC_ERROR_COUNT);
        if (!column_dup(st, JC_DISPLAY_NAME, &j->display_name) ||
            !column_dup(st, JC_DESCRIPTION, &j->description) ||
            !column_dup(st, JC_ERROR_NAME, &j->error_name) ||
            !column_dup(st, JC_ERROR_MESSAGE, &j->error_message) ||
            !column_dup(st, JC_ERROR_SUMMARY, &j->error_summary) ||
            !column_dup(st, JC_UPLOAD_URL, &j->upload_url) ||
            !column_dup(st, JC_HTTP_HEADERS, &headers))
                return log_oom();
        if (headers) {
                j->http_headers = split_headers(headers);
                if (!j->http_headers)
                        return log_oom();
        }

        r = load_files(s, files, j);
        if (r < 0)
                return r;
        /* The first file still to transfer; all done is n_files. */
        while (j->current < j->n_files && j->files[j->current]->completed)
                j->current++;

        *ret = TAKE_PTR(j);
        return 1;
}

int store_load_jobs(Store *s, int (*adopt)(Job *j, void *userdata), void *userdata) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL, *files = NULL;
        _cleanup_(job_list_done) JobList list = { .jobs = NULL };
        int rc, r;

        if (!s || !adopt)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, type, owner, display_name, description, state, priority,"
                                "  auto_complete, allow_insecure_redirect, bandwidth_limit,"
                                "  minimum_retry_delay, no_progress_timeout, http_headers, creation_time,"
                                "  modification_time, completion_time, last_progress_time, retry_time,"
                                "  retire_time, error_name, error_message, error_summary, error_count,"
                                "  upload_url "
                                "FROM jobs ORDER BY creation_time, seq",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare loading jobs");
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT url, path, dir, name, temp_name, dir_dev, dir_ino, temp_exists,"
                                "  completed, committed, bytes_total, bytes_transferred, validator "
                                "FROM files WHERE job_id = ? ORDER BY idx",
                                -1, &files, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare loading files");

        /* Everything is read before the first adopt(): the callback may write to the store,
         * and a write under a running SELECT of the same table has unspecified effects. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                Job *j = NULL;

                r = load_job(s, st, files, &j);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (array_reserve((void **) &list.jobs, &list.allocated, list.n + 1, sizeof(Job *)) < 0) {
                        job_record_free(j);
                        return log_oom();
                }
                list.jobs[list.n++] = j;
        }
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "load jobs");
        sqlite3_finalize(st);
        st = NULL;
        sqlite3_finalize(files);
        files = NULL;

        for (size_t i = 0; i < list.n; i++) {
                r = adopt(TAKE_PTR(list.jobs[i]), userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pending unlinks -------------------------------------------------------------------- */

int store_add_pending_unlink(Store *s, uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !dir || !name)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        st = s->add_unlink;
        bind_int64(st, ":owner", (int64_t) owner, &rc);
        bind_text(st, ":dir", dir, &rc);
        bind_uint64(st, ":dev", (uint64_t) dev, &rc);
        bind_uint64(st, ":ino", (uint64_t) ino, &rc);
        bind_text(st, ":name", name, &rc);
        return store_run(s, st, rc, "record pending unlink of", name);
}

int store_remove_pending_unlink(Store *s, const char *dir, const char *name) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !dir || !name)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        st = s->remove_unlink;
        bind_text(st, ":dir", dir, &rc);
        bind_text(st, ":name", name, &rc);
        return store_run(s, st, rc, "forget pending unlink of", name);
}

typedef struct PendingUnlink {
        uid_t owner;
        char *dir;
        dev_t dev;
        ino_t ino;
        char *name;
} PendingUnlink;

typedef struct PendingList {
        PendingUnlink *items;
        size_t n, allocated;
} PendingList;

static void pending_list_done(PendingList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].dir);
                free(l->items[i].name);
        }
        free(l->items);
}

int store_load_pending_unlinks(Store *s,
                               int (*cb)(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                                         void *userdata),
                               void *userdata) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        _cleanup_(pending_list_done) PendingList list = { .items = NULL };
        int rc, r;

        if (!s || !cb)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;

        rc = sqlite3_prepare_v2(s->db, "SELECT owner, dir, dev, ino, name FROM pending_unlinks ORDER BY rowid",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare loading pending unlinks");

        /* Read first: the callback typically removes the row it was given. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                PendingUnlink *u;

                if (array_reserve((void **) &list.items, &list.allocated, list.n + 1, sizeof(PendingUnlink)) < 0)
                        return log_oom();
                u = &list.items[list.n];
                *u = (PendingUnlink) {
                        .owner = (uid_t) sqlite3_column_int64(st, 0),
                        .dev = (dev_t) sqlite3_column_int64(st, 2),
                        .ino = (ino_t) sqlite3_column_int64(st, 3),
                };
                if (!column_dup(st, 1, &u->dir) || !column_dup(st, 4, &u->name)) {
                        free(u->dir);
                        free(u->name);
                        return log_oom();
                }
                list.n++;
        }
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "load pending unlinks");
        sqlite3_finalize(st);
        st = NULL;

        for (size_t i = 0; i < list.n; i++) {
                r = cb(list.items[i].owner, list.items[i].dir, list.items[i].dev, list.items[i].ino,
                       list.items[i].name, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pending deletes -------------------------------------------------------------------- */

int store_save_pending_delete(Store *s, const PendingDelete *d) {
        _cleanup_free_ char *headers = NULL;
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !d || !d->url)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        r = join_headers(d->headers, &headers);
        if (r < 0)
                return store_doom(s, log_error_errno(r, "Store %s: cannot save the headers of pending delete of %s",
                                                     s->path, d->url));

        st = s->save_delete;
        bind_text(st, ":url", d->url, &rc);
        bind_int64(st, ":owner", (int64_t) d->owner, &rc);
        bind_text(st, ":headers", headers, &rc);
        bind_uint64(st, ":deadline", d->deadline, &rc);
        bind_uint64(st, ":next_try", d->next_try, &rc);
        bind_int64(st, ":attempts", d->attempts, &rc);
        return store_run(s, st, rc, "record pending delete of", d->url);
}

int store_remove_pending_delete(Store *s, const char *url) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        if (!s || !url)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        st = s->remove_delete;
        bind_text(st, ":url", url, &rc);
        return store_run(s, st, rc, "forget pending delete of", url);
}

typedef struct DeleteList {
        PendingDelete *items;
        size_t n, allocated;
} DeleteList;

static void delete_list_done(DeleteList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].url);
                strv_free(l->items[i].headers);
        }
        free(l->items);
}

int store_load_pending_deletes(Store *s, int (*cb)(const PendingDelete *d, void *userdata), void *userdata) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        _cleanup_(delete_list_done) DeleteList list = { .items = NULL };
        int rc, r;

        if (!s || !cb)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT url, owner, headers, deadline, next_try, attempts "
                                "FROM pending_deletes ORDER BY rowid",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare loading pending deletes");

        /* Read first: the callback removes or reschedules the row it was given. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                _cleanup_free_ char *headers = NULL;
                PendingDelete *d;

                if (array_reserve((void **) &list.items, &list.allocated, list.n + 1, sizeof(PendingDelete)) < 0)
                        return log_oom();
                d = &list.items[list.n];
                *d = (PendingDelete) {
                        .owner = (uid_t) sqlite3_column_int64(st, 1),
                        .deadline = (uint64_t) sqlite3_column_int64(st, 3),
                        .next_try = (uint64_t) sqlite3_column_int64(st, 4),
                        .attempts = (uint32_t) sqlite3_column_int64(st, 5),
                };
                if (!column_dup(st, 0, &d->url) || !column_dup(st, 2, &headers) ||
                    (headers && !(d->headers = split_headers(headers)))) {
                        free(d->url);
                        return log_oom();
                }
                /* The column is NOT NULL; only a damaged row could lack it. */
                if (!d->url) {
                        strv_free(d->headers);
                        log_warning("Store %s: skipping a pending delete without URL.", s->path);
                        continue;
                }
                list.n++;
        }
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "load pending deletes");
        sqlite3_finalize(st);
        st = NULL;

        for (size_t i = 0; i < list.n; i++) {
                r = cb(&list.items[i], userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
