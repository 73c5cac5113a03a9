/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The durable job store on its own: round trips of every field, transactions, cascades,
 * pending unlinks, and what happens to a broken or future database file. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "job.h"
#include "store.h"

typedef struct Fixture {
        char *tmp;      /* removed with everything below it */
        char *dir;      /* the state directory: two levels below tmp, not yet created */
        char *db;
} Fixture;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        umask(022);
        f->tmp = g_dir_make_tmp("test-store-XXXXXX", &error);
        g_assert_no_error(error);
        f->dir = g_build_filename(f->tmp, "state", "xferd", NULL);
        f->db = g_build_filename(f->dir, "xferd.db", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_assert_cmpint(nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
        g_free(f->tmp);
        g_free(f->dir);
        g_free(f->db);
}

/* ---- building and comparing jobs ---------------------------------------------------------- */

static JobFile *file_new(unsigned seed, bool completed) {
        JobFile *f = calloc(1, sizeof(JobFile));

        g_assert_nonnull(f);
        f->url = g_strdup_printf("https://example.com/files/%u?q=a&b=%%20", seed);
        f->dir = g_strdup_printf("/home/user/Downloads/%u", seed % 3);
        f->name = g_strdup_printf("file-%u.iso", seed);
        f->path = g_strdup_printf("%s/%s", f->dir, f->name);
        f->temp_name = g_strdup_printf(".%s.xferd-0123456789abcdef-%u", f->name, seed);
        f->dir_dev = makedev(259, seed % 7);
        /* Above INT64_MAX: must survive SQLite's signed integers. */
        f->dir_ino = UINT64_MAX - seed;
        f->temp_exists = seed % 2 == 0;
        f->completed = completed;
        f->committed = false;
        f->bytes_total = seed % 4 == 3 ? UINT64_MAX : 1000000u + seed;
        f->bytes_transferred = completed ? f->bytes_total : seed * 1000u;
        f->validator = seed % 3 == 0 ? NULL : g_strdup_printf("\"etag-%u\"", seed);
        return f;
}

static void file_free(JobFile *f) {
        free(f->url);
        free(f->path);
        free(f->dir);
        free(f->name);
        free(f->temp_name);
        free(f->validator);
        free(f);
}

static void test_job_free(Job *j) {
        if (!j)
                return;
        for (size_t i = 0; i < j->n_files; i++)
                file_free(j->files[i]);
        free(j->files);
        g_strfreev(j->http_headers);
        free(j->display_name);
        free(j->description);
        free(j->error_name);
        free(j->error_message);
        free(j->error_summary);
        free(j);
}

static void job_add_file(Job *j, JobFile *f) {
        j->files = reallocarray(j->files, j->n_files + 1, sizeof(JobFile *));
        g_assert_nonnull(j->files);
        j->files[j->n_files++] = f;
}

/* A job with every field set to something recognizable. */
static Job *job_new(unsigned seed, JobState state, size_t n_files, size_t n_completed) {
        Job *j = calloc(1, sizeof(Job));

        g_assert_nonnull(j);
        g_snprintf(j->id, sizeof j->id, "%08x%024x", seed, seed * 7919u);
        j->type = seed % 2 ? JOB_UPLOAD : JOB_DOWNLOAD;
        j->owner = 1000 + seed;
        j->display_name = g_strdup_printf("Job %u — ünïcode", seed);
        j->description = g_strdup_printf("Description of job %u", seed);
        j->state = state;
        j->priority = (JobPriority) (seed % _JOB_PRIORITY_MAX);
        j->auto_complete = seed % 2 == 0;
        j->allow_insecure_redirect = seed % 3 == 0;
        j->bandwidth_limit = seed % 2 ? UINT64_MAX : 1000u * seed;
        j->minimum_retry_delay = 600 + seed;
        j->no_progress_timeout = 1209600 - seed;
        j->http_headers = g_strsplit("Authorization: Bearer s3cr3t\nX-Trace: a:b:c", "\n", -1);
        j->creation_time = 1700000000000000u + seed * 1000u;
        j->modification_time = j->creation_time + 1;
        j->completion_time = j->creation_time + 2;
        j->last_progress_time = j->creation_time + 3;
        j->retry_time = j->creation_time + 4;
        j->retire_time = j->creation_time + 5;
        j->error_name = g_strdup("Http");
        j->error_message = g_strdup_printf("HTTP 503 from https://example.com/files/%u", seed);
        j->error_summary = g_strdup("HTTP 503");
        j->error_count = seed;
        j->fd = -1;
        for (size_t i = 0; i < n_files; i++)
                job_add_file(j, file_new(seed * 100 + (unsigned) i, i < n_completed));
        j->current = n_completed;
        return j;
}

static void assert_strv_equal(char **a, char **b) {
        if (!a || !b) {
                g_assert_true(a == b);
                return;
        }
        g_assert_cmpuint(g_strv_length(a), ==, g_strv_length(b));
        for (size_t i = 0; a[i]; i++)
                g_assert_cmpstr(a[i], ==, b[i]);
}

static void assert_file_equal(const JobFile *a, const JobFile *b) {
        g_assert_cmpstr(a->url, ==, b->url);
        g_assert_cmpstr(a->path, ==, b->path);
        g_assert_cmpstr(a->dir, ==, b->dir);
        g_assert_cmpstr(a->name, ==, b->name);
        g_assert_cmpstr(a->temp_name, ==, b->temp_name);
        g_assert_cmpuint(a->dir_dev, ==, b->dir_dev);
        g_assert_cmpuint(a->dir_ino, ==, b->dir_ino);
        g_assert_cmpint(a->temp_exists, ==, b->temp_exists);
        g_assert_cmpint(a->completed, ==, b->completed);
        g_assert_cmpint(a->committed, ==, b->committed);
        g_assert_cmpuint(a->bytes_total, ==, b->bytes_total);
        g_assert_cmpuint(a->bytes_transferred, ==, b->bytes_transferred);
        g_assert_cmpstr(a->validator, ==, b->validator);
}

/* `loaded` came from the store, `want` is what was saved. */
static void assert_job_equal(const Job *loaded, const Job *want) {
        static const FsIdentity no_identity = { .uid = 0 };

        g_assert_cmpstr(loaded->id, ==, want->id);
        g_assert_cmpint(loaded->type, ==, want->type);
        g_assert_cmpuint(loaded->owner, ==, want->owner);
        g_assert_cmpstr(loaded->display_name, ==, want->display_name);
        g_assert_cmpstr(loaded->description, ==, want->description);
        g_assert_cmpint(loaded->state, ==, want->state);
        g_assert_cmpint(loaded->priority, ==, want->priority);
        g_assert_cmpint(loaded->auto_complete, ==, want->auto_complete);
        g_assert_cmpint(loaded->allow_insecure_redirect, ==, want->allow_insecure_redirect);
        g_assert_cmpuint(loaded->bandwidth_limit, ==, want->bandwidth_limit);
        g_assert_cmpuint(loaded->minimum_retry_delay, ==, want->minimum_retry_delay);
        g_assert_cmpuint(loaded->no_progress_timeout, ==, want->no_progress_timeout);
        assert_strv_equal(loaded->http_headers, want->http_headers);
        g_assert_cmpuint(loaded->creation_time, ==, want->creation_time);
        g_assert_cmpuint(loaded->modification_time, ==, want->modification_time);
        g_assert_cmpuint(loaded->completion_time, ==, want->completion_time);
        g_assert_cmpuint(loaded->last_progress_time, ==, want->last_progress_time);
        g_assert_cmpuint(loaded->retry_time, ==, want->retry_time);
        g_assert_cmpuint(loaded->retire_time, ==, want->retire_time);
        g_assert_cmpstr(loaded->error_name, ==, want->error_name);
        g_assert_cmpstr(loaded->error_message, ==, want->error_message);
        g_assert_cmpstr(loaded->error_summary, ==, want->error_summary);
        g_assert_cmpuint(loaded->error_count, ==, want->error_count);

        g_assert_cmpuint(loaded->n_files, ==, want->n_files);
        for (size_t i = 0; i < want->n_files; i++)
                assert_file_equal(loaded->files[i], want->files[i]);
        g_assert_cmpuint(loaded->current, ==, want->current);

        /* Everything the store does not own is zero, and no descriptor is open. */
        g_assert_cmpint(loaded->fd, ==, -1);
        g_assert_null(loaded->manager);
        g_assert_null(loaded->prev);
        g_assert_null(loaded->next);
        g_assert_null(loaded->object_path);
        g_assert_true(memcmp(&loaded->identity, &no_identity, sizeof no_identity) == 0);
        g_assert_null(loaded->transfer);
        g_assert_cmpuint(loaded->restarts, ==, 0);
        g_assert_null(loaded->retry_timer);
        g_assert_null(loaded->retention_timer);
        g_assert_false(loaded->progress_dirty);
        g_assert_null(loaded->dirty_next);
        g_assert_false(loaded->in_dirty_list);
}

static int collect(Job *j, void *userdata) {
        g_ptr_array_add(userdata, j);
        return 0;
}

static GPtrArray *load_all(Store *s) {
        GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);

        g_assert_cmpint(store_load_jobs(s, collect, a), ==, 0);
        return a;
}

static Store *open_store(const Fixture *f) {
        Store *s = NULL;

        g_assert_cmpint(store_open(f->dir, &s), ==, 0);
        g_assert_nonnull(s);
        return s;
}

static Store *reopen(const Fixture *f, Store *s) {
        store_close(s);
        return open_store(f);
}

/* ---- direct access to the file, as another process would see it ---------------------------- */

static int64_t raw_int(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int64_t v;

        g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
        return v;
}

static void raw_exec(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;

        g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), ==, SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                g_error("%s: %s", sql, err);
        g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
}

static int cmp_strp(gconstpointer a, gconstpointer b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The moved-aside databases in the state directory (not their -wal/-shm), sorted. */
static GPtrArray *list_broken(const Fixture *f) {
        GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
        GDir *d = g_dir_open(f->dir, 0, NULL);
        const char *n;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d)))
                if (g_str_has_prefix(n, "xferd.db.broken-") && !g_str_has_suffix(n, "-wal") &&
                    !g_str_has_suffix(n, "-shm") && !g_str_has_suffix(n, "-journal"))
                        g_ptr_array_add(a, g_build_filename(f->dir, n, NULL));
        g_dir_close(d);
        g_ptr_array_sort(a, cmp_strp);
        return a;
}

/* Opens the store with stderr captured, to count what it logged. */
static Store *open_store_capturing(const Fixture *f, char **ret_log) {
        char *path = g_build_filename(f->tmp, "stderr.log", NULL);
        int saved, fd;
        Store *s;

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(saved, >=, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
        close(fd);

        s = NULL;
        int r = store_open(f->dir, &s);

        fflush(stderr);
        g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(saved);
        g_assert_cmpint(r, ==, 0);
        g_assert_nonnull(s);
        g_assert_true(g_file_get_contents(path, ret_log, NULL, NULL));
        g_unlink(path);
        g_free(path);
        /* Shown for whoever reads the test log. */
        g_test_message("store_open logged: %s", *ret_log);
        return s;
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* A broken file was moved aside: exactly one warning, naming where it went; the store is
 * empty and usable; the moved file holds the original bytes. */
static void assert_moved_aside(const Fixture *f, Store *s, const char *log, const char *content, size_t size) {
        g_autoptr(GPtrArray) broken = list_broken(f);
        g_autoptr(GPtrArray) jobs = NULL;
        char *moved = NULL;
        size_t moved_size = 0;
        guint n_broken = broken->len;
        Job *j;

        g_assert_cmpuint(broken->len, >=, 1);
        g_assert_cmpuint(count_lines(log), ==, 1);
        g_assert_nonnull(strstr(log, "<4>"));           /* warning level */
        g_assert_nonnull(strstr(log, g_ptr_array_index(broken, 0)));
        g_assert_nonnull(strstr(log, "empty store"));

        if (content) {
                g_assert_true(g_file_get_contents(g_ptr_array_index(broken, 0), &moved, &moved_size, NULL));
                g_assert_cmpmem(moved, moved_size, content, size);
                g_free(moved);
        }

        jobs = load_all(s);
        g_assert_cmpuint(jobs->len, ==, 0);

        /* The fresh store works and survives a reopen without being moved again. */
        j = job_new(42, JOB_QUEUED, 2, 0);
        g_assert_cmpint(store_save_job(s, j), ==, 0);
        store_close(s);
        s = open_store(f);
        g_clear_pointer(&jobs, g_ptr_array_unref);
        jobs = load_all(s);
        g_assert_cmpuint(jobs->len, ==, 1);
        assert_job_equal(g_ptr_array_index(jobs, 0), j);
        store_close(s);
        test_job_free(j);

        g_clear_pointer(&broken, g_ptr_array_unref);
        broken = list_broken(f);
        g_assert_cmpuint(broken->len, ==, n_broken);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_roundtrip(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *j;

        /* Queued, partly done, files of unknown size. */
        g_ptr_array_add(want, job_new(1, JOB_QUEUED, 4, 1));
        /* Transient error with a retry deadline, no headers, no names. */
        j = job_new(2, JOB_TRANSIENT_ERROR, 1, 0);
        g_clear_pointer(&j->http_headers, g_strfreev);
        free(j->display_name);
        j->display_name = NULL;
        free(j->description);
        j->description = strdup("");
        g_ptr_array_add(want, j);
        /* Error, headers that are edge cases of the newline join. */
        j = job_new(3, JOB_ERROR, 2, 0);
        g_strfreev(j->http_headers);
        j->http_headers = g_strsplit("X-Only:", "\n", -1);
        g_ptr_array_add(want, j);
        j = job_new(4, JOB_SUSPENDED, 2, 0);
        g_strfreev(j->http_headers);
        j->http_headers = g_new0(char *, 2);
        j->http_headers[0] = g_strdup("");             /* one empty string is not "no headers" */
        g_ptr_array_add(want, j);
        /* Transferred: every file complete, current is past the end. */
        g_ptr_array_add(want, job_new(5, JOB_TRANSFERRED, 3, 3));
        /* Final states, one without files. */
        j = job_new(6, JOB_ACKNOWLEDGED, 2, 2);
        for (size_t i = 0; i < j->n_files; i++)
                j->files[i]->committed = true;
        g_ptr_array_add(want, j);
        g_ptr_array_add(want, job_new(7, JOB_CANCELLED, 0, 0));
        g_ptr_array_add(want, job_new(8, JOB_CONNECTING, 1, 0));
        g_ptr_array_add(want, job_new(9, JOB_TRANSFERRING, 2, 1));

        /* Some inside an outer transaction, some on their own. */
        g_assert_cmpint(store_begin(s), ==, 0);
        for (guint i = 0; i < 4; i++)
                g_assert_cmpint(store_save_job(s, g_ptr_array_index(want, i)), ==, 0);
        g_assert_cmpint(store_end(s), ==, 0);
        for (guint i = 4; i < want->len; i++)
                g_assert_cmpint(store_save_job(s, g_ptr_array_index(want, i)), ==, 0);

        s = reopen(f, s);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, want->len);
        for (guint i = 0; i < want->len; i++)
                assert_job_equal(g_ptr_array_index(got, i), g_ptr_array_index(want, i));
        store_close(s);
}

static void test_update(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *a = job_new(10, JOB_QUEUED, 2, 0), *b = job_new(11, JOB_QUEUED, 1, 0);

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);

        /* Row only: the file rows keep what was saved before. */
        a->state = JOB_TRANSIENT_ERROR;
        a->error_count = 77;
        a->retry_time = 1800000000000000u;
        free(a->error_message);
        a->error_message = strdup("Connection refused");
        uint64_t saved = a->files[0]->bytes_transferred;
        a->files[0]->bytes_transferred = 999;   /* not saved by the row */
        g_assert_cmpint(store_save_job_row(s, a), ==, 0);
        a->files[0]->bytes_transferred = saved;

        /* One file's progress. */
        a->files[1]->bytes_transferred = 12345;
        a->files[1]->completed = true;
        a->files[1]->temp_exists = true;
        free(a->files[1]->validator);
        a->files[1]->validator = strdup("W/\"weak\"");
        g_assert_cmpint(store_save_file(s, a, 1), ==, 0);
        g_assert_cmpint(store_save_file(s, a, 2), ==, -EINVAL);

        s = reopen(f, s);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 2);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        assert_job_equal(g_ptr_array_index(got, 1), b);
        g_clear_pointer(&got, g_ptr_array_unref);

        /* Files added, then the whole job again; the updated job keeps its place. */
        job_add_file(a, file_new(1234, false));
        job_add_file(a, file_new(1235, false));
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 2);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        g_clear_pointer(&got, g_ptr_array_unref);

        /* A shorter list leaves no stale rows behind. */
        file_free(a->files[--a->n_files]);
        file_free(a->files[--a->n_files]);
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        got = load_all(s);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 3);

        store_close(s);
        test_job_free(a);
        test_job_free(b);
}

static void test_order(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *x = job_new(20, JOB_QUEUED, 0, 0), *y = job_new(21, JOB_QUEUED, 0, 0),
            *z = job_new(22, JOB_QUEUED, 0, 0);

        /* Same creation time: insertion order decides; an older job comes first whenever it
         * was saved. */
        x->creation_time = y->creation_time = 2000;
        z->creation_time = 1000;
        g_assert_cmpint(store_save_job(s, x), ==, 0);
        g_assert_cmpint(store_save_job(s, y), ==, 0);
        g_assert_cmpint(store_save_job(s, z), ==, 0);
        g_assert_cmpint(store_save_job_row(s, x), ==, 0);       /* an update keeps the order */

        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 3);
        g_assert_cmpstr(((Job *) g_ptr_array_index(got, 0))->id, ==, z->id);
        g_assert_cmpstr(((Job *) g_ptr_array_index(got, 1))->id, ==, x->id);
        g_assert_cmpstr(((Job *) g_ptr_array_index(got, 2))->id, ==, y->id);

        store_close(s);
        test_job_free(x);
        test_job_free(y);
        test_job_free(z);
}

static void test_nested(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *a = job_new(30, JOB_QUEUED, 3, 0), *b = job_new(31, JOB_QUEUED, 1, 0),
            *bad = job_new(32, JOB_QUEUED, 2, 0), *c = job_new(33, JOB_QUEUED, 1, 0);

        g_assert_cmpint(store_end(s), ==, -EINVAL);

        /* Only the outermost end commits; another connection sees nothing before. */
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 0);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 3);

        /* A failure dooms the whole transaction: later writes are refused, the end rolls back
         * and reports it, and nothing of it is stored. */
        free(bad->files[1]->url);
        bad->files[1]->url = NULL;              /* violates NOT NULL */
        a->state = JOB_SUSPENDED;
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job_row(s, a), ==, 0);
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        g_assert_cmpint(store_save_job(s, bad), ==, -EIO);
        g_assert_cmpint(store_save_job(s, c), ==, -EIO);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(store_end(s), ==, -EIO);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 3);
        g_assert_cmpint(raw_int(f->db, "SELECT state = 'queued' FROM jobs"), ==, 1);

        /* A header with a newline cannot be stored (the manager refuses those first). */
        g_strfreev(c->http_headers);
        c->http_headers = g_strsplit("A: 1|B: 2\nC: 3", "|", -1);
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        g_assert_cmpint(store_save_job(s, c), ==, -EINVAL);
        g_assert_cmpint(store_end(s), ==, -EINVAL);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);
        g_strfreev(c->http_headers);
        c->http_headers = NULL;

        /* A lone failing save is atomic too: no job row without its files. */
        g_assert_cmpint(store_save_job(s, bad), ==, -EIO);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);

        /* And the store is usable again. */
        g_assert_cmpint(store_save_job(s, c), ==, 0);
        a->state = JOB_QUEUED;
        s = reopen(f, s);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 2);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        assert_job_equal(g_ptr_array_index(got, 1), c);

        store_close(s);
        test_job_free(a);
        test_job_free(b);
        test_job_free(bad);
        test_job_free(c);
}

static void test_delete(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *a = job_new(40, JOB_CANCELLED, 5, 0), *b = job_new(41, JOB_QUEUED, 5, 0);
        char *sql;

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 10);

        g_assert_cmpint(store_delete_job(s, a->id), ==, 0);
        g_assert_cmpint(store_delete_job(s, a->id), ==, 0);    /* already gone: fine */
        sql = g_strdup_printf("SELECT count(*) FROM files WHERE job_id = '%s'", a->id);
        g_assert_cmpint(raw_int(f->db, sql), ==, 0);
        g_free(sql);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 5);

        s = reopen(f, s);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 1);
        assert_job_equal(g_ptr_array_index(got, 0), b);

        store_close(s);
        test_job_free(a);
        test_job_free(b);
}

typedef struct Unlink {
        uid_t owner;
        char *dir;
        dev_t dev;
        ino_t ino;
        char *name;
} Unlink;

static void unlink_free(Unlink *u) {
        g_free(u->dir);
        g_free(u->name);
        g_free(u);
}

static int collect_unlink(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name, void *userdata) {
        Unlink *u = g_new0(Unlink, 1);

        *u = (Unlink) { owner, g_strdup(dir), dev, ino, g_strdup(name) };
        g_ptr_array_add(userdata, u);
        return 0;
}

typedef struct RemoveCtx {
        Store *store;
        unsigned calls;
} RemoveCtx;

/* What the manager does at start: unlink, then forget the row it was given. */
static int remove_unlink(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name, void *userdata) {
        RemoveCtx *c = userdata;

        c->calls++;
        return store_remove_pending_unlink(c->store, dir, name);
}

static int fail_unlink(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name, void *userdata) {
        (*(unsigned *) userdata)++;
        return -ENOTRECOVERABLE;
}

static void test_pending_unlinks(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func((GDestroyNotify) unlink_free);
        Store *s = open_store(f);
        RemoveCtx ctx = { .calls = 0 };
        unsigned calls = 0;
        Unlink *u;

        g_assert_cmpint(store_add_pending_unlink(s, 1000, "/home/a/Downloads", makedev(8, 1), 42, ".x.xferd-1-0"), ==, 0);
        g_assert_cmpint(store_add_pending_unlink(s, 1001, "/home/b", makedev(8, 2), 43, ".y.xferd-2-0"), ==, 0);
        g_assert_cmpint(store_add_pending_unlink(s, 1000, "/home/a/Downloads", makedev(8, 1), 44, ".x.xferd-1-1"), ==, 0);
        /* The same (dir, name) again replaces the row. */
        g_assert_cmpint(store_add_pending_unlink(s, 1002, "/home/a/Downloads", makedev(259, 9), UINT64_MAX - 1,
                                                 ".x.xferd-1-0"), ==, 0);
        g_assert_cmpint(store_remove_pending_unlink(s, "/home/b", ".y.xferd-2-0"), ==, 0);
        g_assert_cmpint(store_remove_pending_unlink(s, "/home/b", "never-added"), ==, 0);

        s = reopen(f, s);
        g_assert_cmpint(store_load_pending_unlinks(s, collect_unlink, got), ==, 0);
        g_assert_cmpuint(got->len, ==, 2);
        for (guint i = 0; i < got->len; i++) {
                u = g_ptr_array_index(got, i);
                g_assert_cmpstr(u->dir, ==, "/home/a/Downloads");
                if (streq(u->name, ".x.xferd-1-0")) {
                        g_assert_cmpuint(u->owner, ==, 1002);
                        g_assert_cmpuint(u->dev, ==, makedev(259, 9));
                        g_assert_cmpuint(u->ino, ==, UINT64_MAX - 1);
                } else {
                        g_assert_cmpstr(u->name, ==, ".x.xferd-1-1");
                        g_assert_cmpuint(u->owner, ==, 1000);
                        g_assert_cmpuint(u->dev, ==, makedev(8, 1));
                        g_assert_cmpuint(u->ino, ==, 44);
                }
        }

        /* A callback error stops the walk and is returned. */
        g_assert_cmpint(store_load_pending_unlinks(s, fail_unlink, &calls), ==, -ENOTRECOVERABLE);
        g_assert_cmpuint(calls, ==, 1);

        /* The callback may remove its own row while the walk goes on. */
        ctx.store = s;
        g_assert_cmpint(store_load_pending_unlinks(s, remove_unlink, &ctx), ==, 0);
        g_assert_cmpuint(ctx.calls, ==, 2);
        g_ptr_array_set_size(got, 0);
        g_assert_cmpint(store_load_pending_unlinks(s, collect_unlink, got), ==, 0);
        g_assert_cmpuint(got->len, ==, 0);
        store_close(s);
}

static int adopt_some(Job *j, void *userdata) {
        unsigned *n = userdata;

        /* The contract: adopt owns the job, also when it fails. */
        test_job_free(j);
        return ++*n == 2 ? -ENOTRECOVERABLE : 0;
}

static void test_adopt_error(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        unsigned n = 0;

        for (unsigned i = 0; i < 5; i++) {
                Job *j = job_new(50 + i, JOB_QUEUED, 2, 0);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        /* The jobs not handed over yet are freed by the store (the leak checker watches). */
        g_assert_cmpint(store_load_jobs(s, adopt_some, &n), ==, -ENOTRECOVERABLE);
        g_assert_cmpuint(n, ==, 2);
        store_close(s);
}

static void test_unreadable_row(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *a = job_new(60, JOB_QUEUED, 1, 0), *b = job_new(61, JOB_QUEUED, 1, 0);
        char *sql;

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        store_close(s);

        /* A damaged row is skipped; the others load. */
        sql = g_strdup_printf("UPDATE jobs SET state = 'exploded' WHERE id = '%s'", a->id);
        raw_exec(f->db, sql);
        g_free(sql);

        s = open_store(f);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 1);
        assert_job_equal(g_ptr_array_index(got, 0), b);
        store_close(s);
        test_job_free(a);
        test_job_free(b);
}

static void test_garbage(Fixture *f, gconstpointer data) {
        g_autofree char *log = NULL, *wal = g_strconcat(f->db, "-wal", NULL);
        g_autofree char *moved_wal = NULL, *moved_wal_content = NULL;
        g_autoptr(GPtrArray) broken = NULL;
        size_t moved_wal_size = 0;
        char garbage[65536];
        Store *s;

        for (size_t i = 0; i < sizeof garbage; i += 4) {
                guint32 v = g_random_int();
                memcpy(garbage + i, &v, 4);
        }
        g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
        g_assert_true(g_file_set_contents(f->db, garbage, sizeof garbage, NULL));
        /* A stale -wal must go with it, never be replayed into the fresh store. */
        g_assert_true(g_file_set_contents(wal, garbage, 8192, NULL));

        s = open_store_capturing(f, &log);
        g_assert_nonnull(strstr(log, "not a database"));
        broken = list_broken(f);
        g_assert_cmpuint(broken->len, ==, 1);
        moved_wal = g_strconcat(g_ptr_array_index(broken, 0), "-wal", NULL);
        g_assert_true(g_file_get_contents(moved_wal, &moved_wal_content, &moved_wal_size, NULL));
        g_assert_cmpmem(moved_wal_content, moved_wal_size, garbage, 8192);
        assert_moved_aside(f, s, log, garbage, sizeof garbage);
}

/* A store big enough to span many pages, then cut at various points. */
static void test_truncated(Fixture *f, gconstpointer data) {
        g_autofree char *full = NULL;
        size_t size = 0;
        Store *s = open_store(f);

        for (unsigned i = 0; i < 300; i++) {
                Job *j = job_new(1000 + i, JOB_QUEUED, 3, 1);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        store_close(s);
        g_assert_true(g_file_get_contents(f->db, &full, &size, NULL));
        g_assert_cmpuint(size, >, 20 * 4096);

        const size_t cuts[] = { 1, 50, 100, 4096, 4096 + 17, 3 * 4096, size / 2, size - 4096, size - 1 };
        for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
                g_autofree char *log = NULL;
                g_autoptr(GPtrArray) broken = NULL;

                g_test_message("truncated to %zu of %zu bytes", cuts[i], size);
                g_assert_cmpint(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
                g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
                g_assert_true(g_file_set_contents(f->db, full, (gssize) cuts[i], NULL));

                s = open_store_capturing(f, &log);
                broken = list_broken(f);
                g_assert_cmpuint(broken->len, ==, 1);
                assert_moved_aside(f, s, log, full, cuts[i]);
        }
}

/* A whole file with damaged pages in the middle: SQLite's own integrity check finds it. */
static void test_damaged(Fixture *f, gconstpointer data) {
        g_autofree char *content = NULL, *log = NULL;
        size_t size = 0;
        Store *s = open_store(f);

        for (unsigned i = 0; i < 300; i++) {
                Job *j = job_new(2000 + i, JOB_TRANSFERRING, 3, 1);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        store_close(s);
        g_assert_true(g_file_get_contents(f->db, &content, &size, NULL));
        g_assert_cmpuint(size, >, 20 * 4096);
        for (size_t i = 10 * 4096; i < 12 * 4096; i++)
                content[i] = (char) g_random_int();
        g_assert_true(g_file_set_contents(f->db, content, (gssize) size, NULL));

        s = open_store_capturing(f, &log);
        g_assert_nonnull(strstr(log, "is corrupt"));
        assert_moved_aside(f, s, log, content, size);
}

static void test_future_version(Fixture *f, gconstpointer data) {
        g_autofree char *log = NULL;
        g_autoptr(GPtrArray) broken = NULL;
        Store *s = open_store(f);
        Job *j = job_new(70, JOB_SUSPENDED, 2, 1);

        g_assert_cmpint(store_save_job(s, j), ==, 0);
        store_close(s);
        raw_exec(f->db, "PRAGMA user_version = 99");

        s = open_store_capturing(f, &log);
        g_assert_nonnull(strstr(log, "schema version 99"));
        broken = list_broken(f);
        g_assert_cmpuint(broken->len, ==, 1);
        /* Moved intact: a newer xferd could still read it. */
        g_assert_cmpint(raw_int(g_ptr_array_index(broken, 0), "PRAGMA user_version"), ==, 99);
        g_assert_cmpint(raw_int(g_ptr_array_index(broken, 0), "SELECT count(*) FROM files"), ==, 2);
        assert_moved_aside(f, s, log, NULL, 0);
        test_job_free(j);
}

static void test_foreign_database(Fixture *f, gconstpointer data) {
        g_autofree char *log = NULL;
        Store *s;

        g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
        raw_exec(f->db, "CREATE TABLE something (x); INSERT INTO something VALUES (1)");

        s = open_store_capturing(f, &log);
        g_assert_nonnull(strstr(log, "not an xferd store"));
        assert_moved_aside(f, s, log, NULL, 0);
}

static void test_modes(Fixture *f, gconstpointer data) {
        g_autofree char *parent = g_path_get_dirname(f->dir);
        g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);
        struct stat st;
        Store *s;
        Job *j = job_new(80, JOB_QUEUED, 1, 0);

        /* Created with its missing parent, both private despite the umask of 022. */
        s = open_store(f);
        g_assert_cmpint(stat(parent, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);
        g_assert_cmpint(stat(f->dir, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);
        g_assert_cmpint(stat(f->db, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpint(store_save_job(s, j), ==, 0);
        g_assert_cmpint(stat(wal, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        store_close(s);

        /* An existing file that was readable by others is made private; an existing directory
         * is left as it is. */
        g_assert_cmpint(chmod(f->db, 0644), ==, 0);
        g_assert_cmpint(chmod(f->dir, 0750), ==, 0);
        s = open_store(f);
        g_assert_cmpint(stat(f->db, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpint(stat(f->dir, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0750);
        store_close(s);

        /* Not a directory: an error, not a crash. */
        {
                g_autofree char *file = g_build_filename(f->tmp, "plain", NULL);
                Store *none = NULL;

                g_assert_true(g_file_set_contents(file, "x", 1, NULL));
                g_assert_cmpint(store_open(file, &none), ==, -ENOTDIR);
                g_assert_null(none);
        }
        test_job_free(j);
}

static void test_scale(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *big = job_new(90, JOB_QUEUED, 200, 0);
        gint64 t;

        /* 200 files in one save: one transaction, one sync point. */
        t = g_get_monotonic_time();
        g_assert_cmpint(store_save_job(s, big), ==, 0);
        g_test_message("save_job with 200 files: %.1f ms", (double) (g_get_monotonic_time() - t) / 1000.0);

        t = g_get_monotonic_time();
        g_assert_cmpint(store_begin(s), ==, 0);
        for (unsigned i = 0; i < 10000; i++) {
                Job *j = job_new(100000 + i, JOB_QUEUED, 1, 0);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        g_assert_cmpint(store_end(s), ==, 0);
        g_test_message("saving 10000 jobs: %.1f ms", (double) (g_get_monotonic_time() - t) / 1000.0);
        store_close(s);

        t = g_get_monotonic_time();
        s = open_store(f);
        gint64 opened = g_get_monotonic_time();
        got = load_all(s);
        gint64 loaded = g_get_monotonic_time();
        g_test_message("open (with integrity check): %.1f ms, load of 10001 jobs: %.1f ms",
                       (double) (opened - t) / 1000.0, (double) (loaded - opened) / 1000.0);

        g_assert_cmpuint(got->len, ==, 10001);
        assert_job_equal(g_ptr_array_index(got, 0), big);
        for (guint i = 1; i < got->len; i++)
                g_assert_cmpuint(((Job *) g_ptr_array_index(got, i - 1))->creation_time, <,
                                 ((Job *) g_ptr_array_index(got, i))->creation_time);
        /* Generous against slow CI and sanitizers; typically far less. */
        g_assert_cmpint(loaded - t, <, G_USEC_PER_SEC);

        store_close(s);
        test_job_free(big);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/store/roundtrip", test_roundtrip);
        ADD("/store/update", test_update);
        ADD("/store/order", test_order);
        ADD("/store/nested", test_nested);
        ADD("/store/delete-cascade", test_delete);
        ADD("/store/pending-unlinks", test_pending_unlinks);
        ADD("/store/adopt-error", test_adopt_error);
        ADD("/store/unreadable-row", test_unreadable_row);
        ADD("/store/garbage", test_garbage);
        ADD("/store/truncated", test_truncated);
        ADD("/store/damaged", test_damaged);
        ADD("/store/future-version", test_future_version);
        ADD("/store/foreign-database", test_foreign_database);
        ADD("/store/modes", test_modes);
        ADD("/store/scale", test_scale);
#undef ADD

        return g_test_run();
}
