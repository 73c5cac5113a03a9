/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The durable job store on its own: round trips of every field, transactions, cascades,
 * pending unlinks and deletes, schema migration, and what happens to a broken or future
 * database file. */
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
#include "job-record.h"
#include "store.h"
#include "store-internal.h"
#include "test-cases.h"
#include "util.h"

typedef struct Fixture {
        char *tmp;      /* removed with everything below it */
        char *dir;      /* the state directory: two levels below tmp, not yet created */
        char *db;
        GPtrArray *jobs; /* fixture_job(): freed by the teardown */
} Fixture;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

/* job_record_free() (the daemon's own, as the store's loader uses) in the shape of a GDestroyNotify. */
static void test_job_free(Job *j) {
        job_record_free(j);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        umask(022);
        f->tmp = g_dir_make_tmp("test-store-XXXXXX", &error);
        g_assert_no_error(error);
        f->dir = g_build_filename(f->tmp, "state", "xferd", NULL);
        f->db = g_build_filename(f->dir, "xferd.db", NULL);
        f->jobs = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_assert_cmpint(nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
        g_free(f->tmp);
        g_free(f->dir);
        g_free(f->db);
        g_ptr_array_unref(f->jobs);
}

/* ---- building and comparing jobs ---------------------------------------------------------- */

static JobFile *file_new(unsigned seed, bool completed) {
        g_autofree char *url = g_strdup_printf("https://example.com/files/%u?q=a&b=%%20", seed);
        g_autofree char *dir = g_strdup_printf("/home/user/Downloads/%u", seed % 3);
        g_autofree char *name = g_strdup_printf("file-%u.iso", seed);
        g_autofree char *path = g_strdup_printf("%s/%s", dir, name);
        g_autofree char *temp_name = g_strdup_printf(".%s.xferd-0123456789abcdef-%u", name, seed);
        JobFile *f = job_file_new(url, path, dir, name, temp_name);

        g_assert_nonnull(f);
        f->dir_dev = makedev(259, seed % 7);
        /* Above INT64_MAX: must survive SQLite's signed integers. */
        f->dir_ino = UINT64_MAX - seed;
        f->temp_exists = seed % 2 == 0;
        f->completed = completed;
        f->committed = false;
        f->bytes_total = seed % 4 == 3 ? UINT64_MAX : 1000000u + seed;
        f->bytes_transferred = completed ? f->bytes_total : seed * 1000u;
        f->validator = seed % 3 == 0 ? NULL : g_strdup_printf("\"etag-%u\"", seed);
        /* Integrity (schema 3): a third of the files (as many as are likely to carry it) expect
         * something: a size of 0, mirrors, a checksum of their own or from a list. */
        if (seed % 3 == 0) {
                unsigned v = seed / 3;
                f->mirrors = v % 2 ? g_strsplit("https://m1.example.com/a\nhttp://m2.example.com/b", "\n", -1) : NULL;
                f->url_index = v % 2 ? 2 : 0;
                f->expect_size = v % 3 != 1;
                f->expected_size = v % 3 == 2 ? 0 : UINT64_MAX - seed;
                f->checksum = g_strdup_printf("sha256:%064x", seed);
                f->checksum_source = 1u << (v % 2);
                f->checksum_list = v % 2 ? NULL : g_strdup("https://example.com/SHA256SUMS");
                f->checksum_list_signature = v % 2 ? NULL : g_strdup("https://example.com/SHA256SUMS.gpg");
                f->checksum_list_key = v % 2 ? NULL : g_strdup("493525EFA3D14C334A5218DFBF1EB6816C659CB9");
                f->verified_by = completed ? 0x21 : 0;
                f->verified_checksum = completed ? g_strdup(f->checksum) : NULL;
        }
        return f;
}

/* What schema 1 and 2 did not have: a file that expects nothing and was not verified. */
static void clear_integrity(Job *j) {
        g_clear_pointer(&j->checksum_list, free);
        g_clear_pointer(&j->checksum_list_signature, free);
        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                g_clear_pointer(&f->mirrors, g_strfreev);
                f->url_index = 0;
                f->expect_size = false;
                f->expected_size = 0;
                g_clear_pointer(&f->checksum, free);
                f->checksum_source = 0;
                g_clear_pointer(&f->checksum_list, free);
                g_clear_pointer(&f->checksum_list_signature, free);
                g_clear_pointer(&f->checksum_list_key, free);
                f->verified_by = 0;
                g_clear_pointer(&f->verified_checksum, free);
        }
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
        j->store_key = seed;    /* unique as the id is */
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
        j->minimum_notification_interval = 250 + seed;
        j->max_concurrent_files = 1 + seed % JOB_MAX_CONCURRENT_FILES;
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
        /* Uploads have their tus resource once created; some are not created yet. */
        if (j->type == JOB_UPLOAD && seed % 4 != 3)
                j->upload_url = g_strdup_printf("https://tus.example.com/files/%08x%u", seed * 31u, seed);
        if (j->type == JOB_DOWNLOAD && seed % 4 == 0) {
                j->checksum_list = g_strdup_printf("https://example.com/%u/SHA512SUMS", seed);
                j->checksum_list_signature = g_strdup_printf("https://example.com/%u/SHA512SUMS.asc", seed);
        }
        /* Half of them with the groups of the caller that created them. */
        if (seed % 2 == 0) {
                static const gid_t groups[] = { 27, 4242, 60000 };
                j->identity_from_caller = true;
                j->identity = (FsIdentity) { .uid = j->owner, .gid = 4242, .n_groups = (int) (seed % 4 == 0 ? 3 : 0) };
                if (j->identity.n_groups > 0)
                        j->identity.groups = g_memdup2(groups, sizeof groups);
        }
        /* Some are bound to their client (CancelWhenOwnerGone). */
        if (seed % 3 == 1)
                j->cancel_with = g_strdup_printf("0123456789abcdef0123456789abcdef/:1.%u", seed);
        /* Both policies, and "the default" (NULL in the store) too. */
        j->cost_policy = seed % 3 == 2 ? _COST_POLICY_INVALID : seed % 3 ? COST_POLICY_ALWAYS : COST_POLICY_UNMETERED;
        /* A job's own proxy (with credentials, some) and where its bytes came from. */
        if (seed % 3 == 1)
                j->proxy = g_strdup_printf("http://fleet:s3cr3t%u@proxy.example:3128", seed);
        else if (seed % 3 == 2)
                j->proxy = g_strdup("direct");
        j->bytes_from_cache = 1000000u * seed + 7;
        j->bytes_from_origin = UINT64_C(1) << 40 | seed;
        j->fd = -1;
        for (size_t i = 0; i < n_files; i++)
                job_add_file(j, file_new(seed * 100 + (unsigned) i, i < n_completed));
        j->current = n_completed;
        return j;
}

/* job_new(), freed with the fixture. */
static Job *fixture_job(Fixture *f, unsigned seed, JobState state, size_t n_files, size_t n_completed) {
        Job *j = job_new(seed, state, n_files, n_completed);

        g_ptr_array_add(f->jobs, j);
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
        assert_strv_equal(a->mirrors, b->mirrors);
        g_assert_cmpuint(a->url_index, ==, b->url_index);
        g_assert_cmpint(a->expect_size, ==, b->expect_size);
        if (b->expect_size)
                g_assert_cmpuint(a->expected_size, ==, b->expected_size);
        g_assert_cmpstr(a->checksum, ==, b->checksum);
        g_assert_cmpuint(a->checksum_source, ==, b->checksum_source);
        g_assert_cmpstr(a->checksum_list, ==, b->checksum_list);
        g_assert_cmpstr(a->checksum_list_signature, ==, b->checksum_list_signature);
        g_assert_cmpstr(a->checksum_list_key, ==, b->checksum_list_key);
        g_assert_cmpuint(a->verified_by, ==, b->verified_by);
        g_assert_cmpstr(a->verified_checksum, ==, b->verified_checksum);
        g_assert_null(a->hasher);
}

/* `loaded` came from the store, `want` is what was saved. */
static void assert_job_equal(const Job *loaded, const Job *want) {
        static const FsIdentity no_identity = { .uid = 0 };

        g_assert_cmpstr(loaded->id, ==, want->id);
        g_assert_cmpint(loaded->store_key, ==, want->store_key);
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
        g_assert_cmpuint(loaded->minimum_notification_interval, ==, want->minimum_notification_interval);
        g_assert_cmpuint(loaded->max_concurrent_files, ==, want->max_concurrent_files);
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
        g_assert_cmpstr(loaded->upload_url, ==, want->upload_url);
        g_assert_cmpstr(loaded->checksum_list, ==, want->checksum_list);
        g_assert_cmpstr(loaded->checksum_list_signature, ==, want->checksum_list_signature);
        g_assert_cmpstr(loaded->cancel_with, ==, want->cancel_with);
        g_assert_cmpint(loaded->cost_policy, ==, want->cost_policy);
        g_assert_cmpstr(loaded->proxy, ==, want->proxy);
        g_assert_cmpuint(loaded->bytes_from_cache, ==, want->bytes_from_cache);
        g_assert_cmpuint(loaded->bytes_from_origin, ==, want->bytes_from_origin);

        g_assert_cmpuint(loaded->n_files, ==, want->n_files);
        for (size_t i = 0; i < want->n_files; i++)
                assert_file_equal(loaded->files[i], want->files[i]);
        g_assert_cmpuint(loaded->current, ==, want->current);

        /* Everything the store does not own is zero, and no descriptor is open. */
        g_assert_cmpint(loaded->fd, ==, -1);
        g_assert_null(loaded->manager);
        g_assert_null(loaded->queue_node.prev);
        g_assert_null(loaded->queue_node.next);
        /* The identity only when the creating caller's groups were stored. */
        g_assert_cmpint(loaded->identity_from_caller, ==, want->identity_from_caller);
        if (want->identity_from_caller) {
                g_assert_cmpuint(loaded->identity.uid, ==, want->owner);
                g_assert_cmpuint(loaded->identity.gid, ==, want->identity.gid);
                g_assert_cmpint(loaded->identity.n_groups, ==, want->identity.n_groups);
                g_assert_cmpmem(loaded->identity.groups, (gsize) loaded->identity.n_groups * sizeof(gid_t),
                                want->identity.groups, (gsize) want->identity.n_groups * sizeof(gid_t));
        } else
                g_assert_true(memcmp(&loaded->identity, &no_identity, sizeof no_identity) == 0);
        g_assert_null(loaded->lanes);
        g_assert_cmpuint(loaded->n_lanes, ==, 0);
        g_assert_null(loaded->retry_timer);
        g_assert_null(loaded->retention_timer);
        g_assert_null(loaded->auto_complete_node.prev);
        g_assert_null(loaded->auto_complete_node.next);
        g_assert_null(loaded->upload);
        g_assert_null(loaded->dirty_node.prev);
        g_assert_null(loaded->dirty_node.next);
}

static int collect(Job *j, void *userdata) {
        g_ptr_array_add(userdata, j);
        return 0;
}

static GPtrArray *load_all(Store *s) {
        GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);

        g_assert_cmpint(store_load_jobs(s, NULL, collect, a), ==, 0);
        return a;
}

/* The store loads exactly the n jobs of want, in that order. */
static void assert_loads_n(Store *s, const Job *const *want, size_t n) {
        g_autoptr(GPtrArray) got = load_all(s);

        g_assert_cmpuint(got->len, ==, n);
        for (size_t i = 0; i < n; i++)
                assert_job_equal(g_ptr_array_index(got, i), want[i]);
}

/* The same for want NULL-terminated. */
static void assert_loads(Store *s, const Job *const *want) {
        size_t n = 0;

        while (want[n])
                n++;
        assert_loads_n(s, want, n);
}

/* The same for the jobs of an array. */
static void assert_loads_all(Store *s, const GPtrArray *want) {
        assert_loads_n(s, (const Job *const *) want->pdata, want->len);
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

/* ---- direct access to the files, as a crash would leave them -------------------------------- */

static void copy_file_if_there(const char *from, const char *to) {
        g_autofree char *data = NULL;
        gsize n = 0;
        g_autoptr(GError) error = NULL;

        if (!g_file_get_contents(from, &data, &n, &error)) {
                g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
                return;
        }
        g_assert_true(g_file_set_contents(to, data, (gssize) n, NULL));
}

/* The store holds its database exclusively while it is open, so another process cannot read
 * it: the query runs on a copy of the database and its WAL taken now, which holds exactly
 * what a crash at this moment would leave (committed transactions only). */
static int64_t raw_int(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int64_t v;
        g_autofree char *dir = g_dir_make_tmp("xferd-store-copy-XXXXXX", NULL);
        g_assert_nonnull(dir);
        g_autofree char *copy = g_build_filename(dir, "copy.db", NULL);
        g_autofree char *wal = g_strconcat(path, "-wal", NULL);
        g_autofree char *copy_wal = g_strconcat(copy, "-wal", NULL);
        g_autofree char *copy_shm = g_strconcat(copy, "-shm", NULL);

        copy_file_if_there(path, copy);
        copy_file_if_there(wal, copy_wal);

        g_assert_cmpint(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
        (void) g_unlink(copy_wal);
        (void) g_unlink(copy_shm);
        (void) g_unlink(copy);
        (void) g_rmdir(dir);
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

/* Sends stderr to a file until stderr_capture_end(); returns the saved stderr. */
static int stderr_capture_begin(const Fixture *f) {
        g_autofree char *path = g_build_filename(f->tmp, "stderr.log", NULL);
        int saved, fd;

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(saved, >=, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
        close(fd);
        return saved;
}

/* Gives stderr back; returns what was written to it meanwhile. */
static char *stderr_capture_end(const Fixture *f, int saved) {
        g_autofree char *path = g_build_filename(f->tmp, "stderr.log", NULL);
        char *log = NULL;

        fflush(stderr);
        g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(saved);
        g_assert_true(g_file_get_contents(path, &log, NULL, NULL));
        g_unlink(path);
        return log;
}

/* Opens the store with stderr captured, to count what it logged. */
static Store *open_store_capturing(const Fixture *f, char **ret_log) {
        int saved = stderr_capture_begin(f);
        Store *s = NULL;
        int r = store_open(f->dir, &s);

        *ret_log = stderr_capture_end(f, saved);
        g_assert_cmpint(r, ==, 0);
        g_assert_nonnull(s);
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

/* Version 9's schema on top of version 1's, as steps 1 to 8 left it: a copy, because files on
 * disk keep this whatever the store's code becomes. */
static const char v2_to_v9_steps[] =
        "ALTER TABLE jobs ADD COLUMN upload_url TEXT;"
        "CREATE TABLE pending_deletes (url TEXT PRIMARY KEY NOT NULL, owner INTEGER NOT NULL, headers TEXT,"
        "  deadline INTEGER NOT NULL, next_try INTEGER NOT NULL, attempts INTEGER NOT NULL);"
        "ALTER TABLE jobs ADD COLUMN minimum_notification_interval INTEGER NOT NULL DEFAULT 500;"
        "ALTER TABLE jobs ADD COLUMN cancel_with TEXT;"
        "ALTER TABLE jobs ADD COLUMN checksum_list TEXT;"
        "ALTER TABLE jobs ADD COLUMN checksum_list_signature TEXT;"
        "ALTER TABLE files ADD COLUMN mirrors TEXT;"
        "ALTER TABLE files ADD COLUMN url_index INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE files ADD COLUMN expected_size INTEGER;"
        "ALTER TABLE files ADD COLUMN checksum TEXT;"
        "ALTER TABLE files ADD COLUMN checksum_source INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE files ADD COLUMN checksum_list TEXT;"
        "ALTER TABLE files ADD COLUMN checksum_list_signature TEXT;"
        "ALTER TABLE files ADD COLUMN checksum_list_key TEXT;"
        "ALTER TABLE files ADD COLUMN verified_by INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE files ADD COLUMN verified_checksum TEXT;"
        "ALTER TABLE jobs ADD COLUMN cost_policy TEXT;"
        "ALTER TABLE jobs ADD COLUMN proxy TEXT;"
        "ALTER TABLE jobs ADD COLUMN bytes_from_cache INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE jobs ADD COLUMN bytes_from_origin INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE jobs ADD COLUMN fs_gid INTEGER;"
        "ALTER TABLE jobs ADD COLUMN fs_groups TEXT;"
        "ALTER TABLE jobs ADD COLUMN max_concurrent_files INTEGER NOT NULL DEFAULT 1;";

/* The names of table's columns but `skip`, joined with ", ", each after `prefix`. */
static char *column_list(const char *path, const char *table, const char *skip, const char *prefix) {
        g_autoptr(GString) l = g_string_new(NULL);
        g_autofree char *sql = g_strdup_printf("SELECT name FROM pragma_table_info('%s')", table);
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *name = (const char *) sqlite3_column_text(st, 0);
                if (skip && g_str_equal(name, skip))
                        continue;
                g_string_append_printf(l, "%s%s%s", l->len > 0 ? ", " : "", prefix, name);
        }
        sqlite3_finalize(st);
        g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);
        return g_string_free(g_steal_pointer(&l), FALSE);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_roundtrip(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
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
        assert_loads_all(s, want);
        store_close(s);
}

static void test_update(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *a = fixture_job(f, 10, JOB_QUEUED, 2, 0), *b = fixture_job(f, 11, JOB_QUEUED, 1, 0);

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
        assert_loads(s, (const Job *[]) { a, b, NULL });

        /* Files added, then the whole job again; the updated job keeps its place. */
        job_add_file(a, file_new(1234, false));
        job_add_file(a, file_new(1235, false));
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        got = load_all(s);
        g_assert_cmpuint(got->len, ==, 2);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        g_clear_pointer(&got, g_ptr_array_unref);

        /* A shorter list leaves no stale rows behind. */
        job_file_free(a->files[--a->n_files]);
        job_file_free(a->files[--a->n_files]);
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        got = load_all(s);
        assert_job_equal(g_ptr_array_index(got, 0), a);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 3);

        store_close(s);
}

static void test_order(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *x = fixture_job(f, 20, JOB_QUEUED, 0, 0), *y = fixture_job(f, 21, JOB_QUEUED, 0, 0),
            *z = fixture_job(f, 22, JOB_QUEUED, 0, 0);

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
}

/* Whether a mapping of the process is the file at path. */
static bool file_is_mapped(const char *path) {
        g_autofree char *maps = NULL, *real = realpath(path, NULL);
        g_auto(GStrv) lines = NULL;

        g_assert_nonnull(real);
        g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
        lines = g_strsplit(maps, "\n", -1);
        for (size_t i = 0; lines[i]; i++) {
                const char *name = strchr(lines[i], '/');
                if (name && streq(name, real))
                        return true;
        }
        return false;
}

/* The open's check reads the file through a mapping, gone once the open returns: the file's
 * pages do not stay in the daemon's RSS, and the reads after it (the load) are not through a
 * mapping either. */
static void test_mapping_released(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);

        g_assert_cmpint(store_save_job(s, fixture_job(f, 1, JOB_QUEUED, 2, 0)), ==, 0);
        s = reopen(f, s);
        g_assert_false(file_is_mapped(f->db));
        assert_loads(s, (const Job *const[]) { g_ptr_array_index(f->jobs, 0), NULL });
        g_assert_false(file_is_mapped(f->db));
        store_close(s);
}

static goffset wal_size(const Fixture *f) {
        g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);
        struct stat st;

        g_assert_cmpint(stat(wal, &st), ==, 0);
        return st.st_size;
}

/* What a commit costs is the pages it adds to the write-ahead log (each a pwrite() of its
 * header and one of the page): updating a job's row rewrites the row's page only, not a page
 * of the indexes on the columns that never change; a transaction that wrote nothing adds
 * nothing. */
static void test_log_pages(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Job *a = fixture_job(f, 40, JOB_QUEUED, 1, 0);
        goffset before;

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        before = wal_size(f);
        a->state = JOB_TRANSFERRING;
        a->modification_time++;
        g_assert_cmpint(store_save_job_row(s, a), ==, 0);
        /* One frame: its header and the page. */
        g_assert_cmpint(wal_size(f) - before, ==, raw_int(f->db, "PRAGMA page_size") + 24);

        before = wal_size(f);
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_commit(s), ==, 0);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(wal_size(f), ==, before);

        store_close(s);
}

static void test_nested(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Job *a = fixture_job(f, 30, JOB_QUEUED, 3, 0), *b = fixture_job(f, 31, JOB_QUEUED, 1, 0),
            *bad = fixture_job(f, 32, JOB_QUEUED, 2, 0), *c = fixture_job(f, 33, JOB_QUEUED, 1, 0);

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
        bad->files[1]->url = NULL;              /* violates NOT NULL (the name stays in the file's block) */
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
        assert_loads(s, (const Job *[]) { a, c, NULL });

        store_close(s);
}

/* store_commit() inside a transaction (the write-ahead record of a file about to be created):
 * what the transaction holds so far is committed at once, and it goes on. */
static void test_commit_inside(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Job *a = fixture_job(f, 34, JOB_QUEUED, 1, 0), *b = fixture_job(f, 35, JOB_QUEUED, 1, 0);

        g_assert_cmpint(store_commit(s), ==, 0);        /* outside a transaction: nothing to do */
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 0);
        g_assert_cmpint(store_commit(s), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 1);
        g_assert_cmpint(store_end(s), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 2);
        g_assert_cmpint(store_end(s), ==, -EINVAL);     /* the nesting is unchanged by the commit */

        /* A transaction doomed before the commit stays doomed after it: its second half
         * never commits without the first. */
        Job *bad = fixture_job(f, 36, JOB_QUEUED, 2, 0), *c = fixture_job(f, 37, JOB_QUEUED, 1, 0);
        bad->files[1]->url = NULL;              /* violates NOT NULL (the name stays in the file's block) */
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_save_job(s, bad), ==, -EIO);
        g_assert_cmpint(store_commit(s), ==, -EIO);
        g_assert_cmpint(store_save_job(s, c), ==, -EIO);
        g_assert_cmpint(store_end(s), ==, -EIO);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 2);
        /* And the store works again afterwards. */
        g_assert_cmpint(store_save_job(s, c), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs"), ==, 3);

        store_close(s);
}

static void test_delete(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Job *a = fixture_job(f, 40, JOB_CANCELLED, 5, 0), *b = fixture_job(f, 41, JOB_QUEUED, 5, 0);
        char *sql;

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 10);

        g_assert_cmpint(store_delete_job(s, a), ==, 0);
        g_assert_cmpint(store_delete_job(s, a), ==, 0);    /* already gone: fine */
        sql = g_strdup_printf("SELECT count(*) FROM files WHERE job_seq = %" PRId64, a->store_key);
        g_assert_cmpint(raw_int(f->db, sql), ==, 0);
        g_free(sql);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 5);

        s = reopen(f, s);
        assert_loads(s, (const Job *[]) { b, NULL });

        store_close(s);
}

/* Each pending unlink the walk hands over, into a StoreUnlinkList. */
static int collect_unlink(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name, void *userdata) {
        return store_unlink_list_add(userdata, owner, dir, dev, ino, name);
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
        _cleanup_(store_unlink_list_done) StoreUnlinkList got = { .items = NULL };
        Store *s = open_store(f);
        RemoveCtx ctx = { .calls = 0 };
        unsigned calls = 0;

        g_assert_cmpint(store_add_pending_unlink(s, 1000, "/home/a/Downloads", makedev(8, 1), 42, ".x.xferd-1-0"), ==, 0);
        g_assert_cmpint(store_add_pending_unlink(s, 1001, "/home/b", makedev(8, 2), 43, ".y.xferd-2-0"), ==, 0);
        g_assert_cmpint(store_add_pending_unlink(s, 1000, "/home/a/Downloads", makedev(8, 1), 44, ".x.xferd-1-1"), ==, 0);
        /* The same (dir, name) again replaces the row. */
        g_assert_cmpint(store_add_pending_unlink(s, 1002, "/home/a/Downloads", makedev(259, 9), UINT64_MAX - 1,
                                                 ".x.xferd-1-0"), ==, 0);
        g_assert_cmpint(store_remove_pending_unlink(s, "/home/b", ".y.xferd-2-0"), ==, 0);
        g_assert_cmpint(store_remove_pending_unlink(s, "/home/b", "never-added"), ==, 0);

        s = reopen(f, s);
        g_assert_cmpint(store_load_pending_unlinks(s, collect_unlink, &got), ==, 0);
        g_assert_cmpuint(got.n, ==, 2);
        for (size_t i = 0; i < got.n; i++) {
                const StoreUnlink *u = &got.items[i];

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
        store_unlink_list_done(&got);
        g_assert_cmpint(store_load_pending_unlinks(s, collect_unlink, &got), ==, 0);
        g_assert_cmpuint(got.n, ==, 0);
        store_close(s);
}

/* The tus upload resource: NULL until the upload is created, then set, changed, and cleared
 * again (an upload that must start over), by both kinds of save. */
static void test_upload_url(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *up = fixture_job(f, 101, JOB_QUEUED, 1, 0), *down = fixture_job(f, 102, JOB_QUEUED, 1, 0);

        g_assert_cmpint(up->type, ==, JOB_UPLOAD);
        g_assert_null(down->upload_url);
        g_clear_pointer(&up->upload_url, free);
        g_assert_cmpint(store_save_job(s, up), ==, 0);
        g_assert_cmpint(store_save_job(s, down), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE upload_url IS NULL"), ==, 2);

        /* Created: the row alone carries it. */
        up->upload_url = strdup("https://tus.example.com/files/24e533e0?sig=a%2Fb");
        g_assert_cmpint(store_save_job_row(s, up), ==, 0);
        s = reopen(f, s);
        assert_loads(s, (const Job *[]) { up, down, NULL });

        /* Replaced by a whole-job save. */
        free(up->upload_url);
        up->upload_url = strdup("https://tus.example.com/files/second");
        g_assert_cmpint(store_save_job(s, up), ==, 0);
        got = load_all(s);
        assert_job_equal(g_ptr_array_index(got, 0), up);
        g_clear_pointer(&got, g_ptr_array_unref);

        /* Cleared: NULL again, not a stale URL. */
        g_clear_pointer(&up->upload_url, free);
        g_assert_cmpint(store_save_job_row(s, up), ==, 0);
        s = reopen(f, s);
        got = load_all(s);
        assert_job_equal(g_ptr_array_index(got, 0), up);
        g_assert_null(((Job *) g_ptr_array_index(got, 0))->upload_url);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE upload_url IS NULL"), ==, 2);

        store_close(s);
}

static PendingDelete *delete_copy(const PendingDelete *d) {
        PendingDelete *c = g_new0(PendingDelete, 1);

        *c = *d;
        c->url = g_strdup(d->url);
        c->headers = g_strdupv(d->headers);
        return c;
}

static void delete_free(PendingDelete *d) {
        g_free(d->url);
        g_strfreev(d->headers);
        g_free(d);
}

static void assert_delete_equal(const PendingDelete *a, const PendingDelete *b) {
        g_assert_cmpstr(a->url, ==, b->url);
        g_assert_cmpuint(a->owner, ==, b->owner);
        assert_strv_equal(a->headers, b->headers);
        g_assert_cmpuint(a->deadline, ==, b->deadline);
        g_assert_cmpuint(a->next_try, ==, b->next_try);
        g_assert_cmpuint(a->attempts, ==, b->attempts);
}

static int collect_delete(const PendingDelete *d, void *userdata) {
        g_ptr_array_add(userdata, delete_copy(d));
        return 0;
}

static int fail_delete(const PendingDelete *d, void *userdata) {
        (*(unsigned *) userdata)++;
        return -ENOTRECOVERABLE;
}

/* What the daemon does at start: the first one succeeds (forgotten), the others fail again and
 * are rescheduled under the same url, all while the walk goes on. */
static int retry_delete(const PendingDelete *d, void *userdata) {
        RemoveCtx *c = userdata;
        PendingDelete next = *d;

        if (c->calls++ == 0)
                return store_remove_pending_delete(c->store, d->url);
        next.attempts++;
        next.next_try += 1000000;
        return store_save_pending_delete(c->store, &next);
}

static void test_pending_deletes(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func((GDestroyNotify) delete_free);
        char *secret[] = { (char *) "Authorization: Bearer s3cr3t", (char *) "X-Trace: a:b:c", NULL };
        char *other[] = { (char *) "Authorization: Bearer n3w", NULL };
        char *empty[] = { (char *) "", NULL };  /* one empty string is not "no headers" */
        char *only[] = { (char *) "X-Only:", NULL };
        char *newline[] = { (char *) "A: 1\nB: 2", NULL };
        PendingDelete a = {
                .url = (char *) "https://tus.example.com/files/a",
                .owner = 1000,
                .headers = secret,
                .deadline = 1700000000000000u + 86400000000u,
                .next_try = 1700000000000000u,
                .attempts = 0,
        };
        PendingDelete b = {
                .url = (char *) "https://tus.example.com/files/b?q=a&b=%20",
                .owner = 1001,
                .headers = NULL,
                .deadline = UINT64_MAX,         /* above INT64_MAX */
                .next_try = 0,
                .attempts = UINT32_MAX - 1,
        };
        PendingDelete c = { .url = (char *) "https://tus.example.com/files/c", .owner = 0, .headers = empty,
                            .deadline = 5, .next_try = 4, .attempts = 1 };
        PendingDelete d = { .url = (char *) "https://tus.example.com/files/d", .owner = 1002, .headers = only,
                            .deadline = 7, .next_try = 6, .attempts = 2 };
        PendingDelete bad = { .url = (char *) "https://tus.example.com/files/bad?token=t0k3n", .headers = newline };
        PendingDelete no_url = { .url = NULL };
        Store *s = open_store(f);
        RemoveCtx ctx = { .calls = 0 };
        unsigned calls = 0;

        g_assert_cmpint(store_save_pending_delete(s, &a), ==, 0);
        g_assert_cmpint(store_save_pending_delete(s, &b), ==, 0);
        g_assert_cmpint(store_save_pending_delete(s, &c), ==, 0);
        g_assert_cmpint(store_save_pending_delete(s, &d), ==, 0);
        /* The same url again updates the row (and keeps its place). */
        a.headers = other;
        a.next_try += 30000000;
        a.attempts = 3;
        a.owner = 1003;
        g_assert_cmpint(store_save_pending_delete(s, &a), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pending_deletes"), ==, 4);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pending_deletes WHERE headers LIKE '%s3cr3t%'"), ==, 0);

        g_assert_cmpint(store_remove_pending_delete(s, c.url), ==, 0);
        g_assert_cmpint(store_remove_pending_delete(s, "https://tus.example.com/never-added"), ==, 0);
        /* Its failure names the URL as logs do: stripped of the query's token. */
        int saved = stderr_capture_begin(f);
        g_assert_cmpint(store_save_pending_delete(s, &bad), ==, -EINVAL);
        g_autofree char *log = stderr_capture_end(f, saved);
        g_assert_nonnull(strstr(log, "tus.example.com/files/bad"));
        g_assert_null(strstr(log, "t0k3n"));
        g_assert_cmpint(store_save_pending_delete(s, &no_url), ==, -EINVAL);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pending_deletes"), ==, 3);

        s = reopen(f, s);
        g_assert_cmpint(store_load_pending_deletes(s, collect_delete, got), ==, 0);
        g_assert_cmpuint(got->len, ==, 3);
        assert_delete_equal(g_ptr_array_index(got, 0), &a);
        assert_delete_equal(g_ptr_array_index(got, 1), &b);
        assert_delete_equal(g_ptr_array_index(got, 2), &d);

        /* A callback error stops the walk and is returned. */
        g_assert_cmpint(store_load_pending_deletes(s, fail_delete, &calls), ==, -ENOTRECOVERABLE);
        g_assert_cmpuint(calls, ==, 1);

        /* The callback may remove or rewrite its own row while the walk goes on. */
        ctx.store = s;
        g_assert_cmpint(store_load_pending_deletes(s, retry_delete, &ctx), ==, 0);
        g_assert_cmpuint(ctx.calls, ==, 3);
        s = reopen(f, s);
        g_ptr_array_set_size(got, 0);
        g_assert_cmpint(store_load_pending_deletes(s, collect_delete, got), ==, 0);
        g_assert_cmpuint(got->len, ==, 2);
        b.attempts++;
        b.next_try += 1000000;
        d.attempts++;
        d.next_try += 1000000;
        assert_delete_equal(g_ptr_array_index(got, 0), &b);
        assert_delete_equal(g_ptr_array_index(got, 1), &d);
        g_assert_cmpuint(((PendingDelete *) g_ptr_array_index(got, 0))->attempts, ==, UINT32_MAX);

        /* Inside a doomed transaction: refused, and nothing of it stays. */
        g_assert_cmpint(store_begin(s), ==, 0);
        g_assert_cmpint(store_remove_pending_delete(s, b.url), ==, 0);
        g_assert_cmpint(store_save_pending_delete(s, &bad), ==, -EINVAL);
        g_assert_cmpint(store_save_pending_delete(s, &c), ==, -EINVAL);
        g_assert_cmpint(store_end(s), ==, -EINVAL);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pending_deletes"), ==, 2);

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
        g_assert_cmpint(store_load_jobs(s, NULL, adopt_some, &n), ==, -ENOTRECOVERABLE);
        g_assert_cmpuint(n, ==, 2);
        store_close(s);
}

/* The files are read by their key and matched to their jobs: rows written in any order, of
 * jobs interleaved, with a gap, still give every job its files by idx. */
static void test_file_rows_order(Fixture *f, gconstpointer data) {
        static const char *const orders[] = { "job_seq DESC, idx DESC", "idx, job_seq", "idx DESC, job_seq" };
        Job *want[] = { fixture_job(f, 70, JOB_QUEUED, 3, 1), fixture_job(f, 71, JOB_QUEUED, 2, 0),
                        fixture_job(f, 72, JOB_QUEUED, 1, 0) };
        Store *s = open_store(f);

        for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
                g_assert_cmpint(store_save_job(s, want[i]), ==, 0);
        store_close(s);

        for (size_t k = 0; k <= G_N_ELEMENTS(orders); k++) {
                bool gap = k == G_N_ELEMENTS(orders);
                g_autoptr(GPtrArray) got = NULL;
                g_autofree char *sql = NULL;

                if (!gap)
                        sql = g_strdup_printf("CREATE TEMP TABLE t AS SELECT * FROM files; DELETE FROM files;"
                                              "INSERT INTO files SELECT * FROM t ORDER BY %s;", orders[k]);
                else    /* the rows left keep their order */
                        sql = g_strdup_printf("DELETE FROM files WHERE job_seq = %" PRId64 " AND idx = 1;",
                                              want[0]->store_key);
                raw_exec(f->db, sql);
                s = open_store(f);
                got = load_all(s);
                g_assert_cmpuint(got->len, ==, G_N_ELEMENTS(want));
                for (size_t i = gap ? 1 : 0; i < G_N_ELEMENTS(want); i++)
                        assert_job_equal(g_ptr_array_index(got, i), want[i]);
                if (gap) {
                        Job *j = g_ptr_array_index(got, 0);
                        g_assert_cmpuint(j->n_files, ==, 2);
                        g_assert_cmpstr(j->files[0]->path, ==, want[0]->files[0]->path);
                        g_assert_cmpstr(j->files[1]->path, ==, want[0]->files[2]->path);
                }
                store_close(s);
        }
}

static void test_unreadable_row(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Job *a = fixture_job(f, 60, JOB_QUEUED, 1, 0), *b = fixture_job(f, 61, JOB_QUEUED, 1, 0);
        char *sql;

        g_assert_cmpint(store_save_job(s, a), ==, 0);
        g_assert_cmpint(store_save_job(s, b), ==, 0);
        store_close(s);

        /* A damaged row is skipped; the others load. */
        sql = g_strdup_printf("UPDATE jobs SET state = 'exploded' WHERE id = '%s'", a->id);
        raw_exec(f->db, sql);
        g_free(sql);

        s = open_store(f);
        assert_loads(s, (const Job *[]) { b, NULL });
        store_close(s);
}

/* Ids go out on the bus unchecked: a row whose id is not 32 lower-case hex digits is skipped,
 * the others load. */
static void test_foreign_id(Fixture *f, gconstpointer data) {
        static const char *const bad[] = {
                "X'ff6e6f7420757466382121212121212121212121212121212121212121212121'",  /* not UTF-8 */
                "'0123456789ABCDEF0123456789abcdef'", "'0123456789abcdef0123456789abcde'",
                "'0123456789abcdef0123456789abcdef0'", "'0123456789abcdef-123456789abcdef'", "''",
        };
        Job *good = fixture_job(f, 62, JOB_QUEUED, 1, 0), *damaged[G_N_ELEMENTS(bad)];
        Store *s = open_store(f);

        g_assert_cmpint(store_save_job(s, good), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                damaged[i] = fixture_job(f, 63 + (unsigned) i, JOB_QUEUED, 1, 0);
                g_assert_cmpint(store_save_job(s, damaged[i]), ==, 0);
        }
        store_close(s);

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *sql = g_strdup_printf("UPDATE jobs SET id = CAST(%s AS TEXT) WHERE id = '%s'",
                                                       bad[i], damaged[i]->id);
                raw_exec(f->db, sql);
        }
        s = open_store(f);
        assert_loads(s, (const Job *[]) { good, NULL });
        store_close(s);
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

/* 300 jobs from first_id on in a new store, closed; returns the file's bytes (over 20 pages). */
static char *write_many_pages(const Fixture *f, unsigned first_id, JobState state, size_t *ret_size) {
        g_autofree char *content = NULL;
        Store *s = open_store(f);

        for (unsigned i = 0; i < 300; i++) {
                Job *j = job_new(first_id + i, state, 3, 1);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        store_close(s);
        g_assert_true(g_file_get_contents(f->db, &content, ret_size, NULL));
        g_assert_cmpuint(*ret_size, >, 20 * 4096);
        return g_steal_pointer(&content);
}

/* A store big enough to span many pages, then cut at various points. */
static void test_truncated(Fixture *f, gconstpointer data) {
        size_t size = 0;
        g_autofree char *full = write_many_pages(f, 1000, JOB_QUEUED, &size);

        const size_t cuts[] = { 1, 50, 100, 4096, 4096 + 17, 3 * 4096, size / 2, size - 4096, size - 1 };
        for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
                g_autofree char *log = NULL;
                g_autoptr(GPtrArray) broken = NULL;

                g_test_message("truncated to %zu of %zu bytes", cuts[i], size);
                g_assert_cmpint(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
                g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
                g_assert_true(g_file_set_contents(f->db, full, (gssize) cuts[i], NULL));

                Store *s = open_store_capturing(f, &log);
                broken = list_broken(f);
                g_assert_cmpuint(broken->len, ==, 1);
                assert_moved_aside(f, s, log, full, cuts[i]);
        }
}

/* A whole file with damaged pages in the middle: SQLite's own integrity check finds it. */
static void test_damaged(Fixture *f, gconstpointer data) {
        g_autofree char *log = NULL;
        size_t size = 0;
        g_autofree char *content = write_many_pages(f, 2000, JOB_TRANSFERRING, &size);
        for (size_t i = 10 * 4096; i < 12 * 4096; i++)
                content[i] = (char) g_random_int();
        g_assert_true(g_file_set_contents(f->db, content, (gssize) size, NULL));

        Store *s = open_store_capturing(f, &log);
        g_assert_nonnull(strstr(log, "is corrupt"));
        assert_moved_aside(f, s, log, content, size);
}

static void test_future_version(Fixture *f, gconstpointer data) {
        g_autofree char *log = NULL;
        g_autoptr(GPtrArray) broken = NULL;
        Store *s = open_store(f);
        Job *j = fixture_job(f, 70, JOB_SUSPENDED, 2, 1);

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

/* The schema of version 1 exactly as migrate_to_v1() created it: a copy, because files on disk
 * keep this whatever the store's code becomes. */
static const char v1_schema[] =
        "CREATE TABLE jobs ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  seq INTEGER NOT NULL UNIQUE,"
        "  type TEXT NOT NULL,"
        "  owner INTEGER NOT NULL,"
        "  display_name TEXT,"
        "  description TEXT,"
        "  state TEXT NOT NULL,"
        "  priority TEXT NOT NULL,"
        "  auto_complete INTEGER NOT NULL,"
        "  allow_insecure_redirect INTEGER NOT NULL,"
        "  bandwidth_limit INTEGER NOT NULL,"
        "  minimum_retry_delay INTEGER NOT NULL,"
        "  no_progress_timeout INTEGER NOT NULL,"
        "  http_headers TEXT,"
        "  creation_time INTEGER NOT NULL,"
        "  modification_time INTEGER NOT NULL,"
        "  completion_time INTEGER NOT NULL,"
        "  last_progress_time INTEGER NOT NULL,"
        "  retry_time INTEGER NOT NULL,"
        "  retire_time INTEGER NOT NULL,"
        "  error_name TEXT,"
        "  error_message TEXT,"
        "  error_summary TEXT,"
        "  error_count INTEGER NOT NULL"
        ");"
        "CREATE INDEX jobs_by_age ON jobs (creation_time, seq);"
        "CREATE TABLE files ("
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  idx INTEGER NOT NULL,"
        "  url TEXT NOT NULL,"
        "  path TEXT NOT NULL,"
        "  dir TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  temp_name TEXT NOT NULL,"
        "  dir_dev INTEGER NOT NULL,"
        "  dir_ino INTEGER NOT NULL,"
        "  temp_exists INTEGER NOT NULL,"
        "  completed INTEGER NOT NULL,"
        "  committed INTEGER NOT NULL,"
        "  bytes_total INTEGER NOT NULL,"
        "  bytes_transferred INTEGER NOT NULL,"
        "  validator TEXT,"
        "  PRIMARY KEY (job_id, idx)"
        ");"
        "CREATE TABLE pending_unlinks ("
        "  owner INTEGER NOT NULL,"
        "  dir TEXT NOT NULL,"
        "  dev INTEGER NOT NULL,"
        "  ino INTEGER NOT NULL,"
        "  name TEXT NOT NULL,"
        "  PRIMARY KEY (dir, name)"
        ");";

static void v1_text(sqlite3_stmt *st, int i, const char *v) {
        g_assert_cmpint(v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i), ==, SQLITE_OK);
}

/* Unsigned values as their two's complement bit pattern, as the store writes them. */
static void v1_int(sqlite3_stmt *st, int i, uint64_t v) {
        g_assert_cmpint(sqlite3_bind_int64(st, i, (int64_t) v), ==, SQLITE_OK);
}

static void v1_step(sqlite3_stmt *st) {
        g_assert_cmpint(sqlite3_step(st), ==, SQLITE_DONE);
        g_assert_cmpint(sqlite3_finalize(st), ==, SQLITE_OK);
}

/* Writes a job the way a version 1 store did, with its own SQL. */
static void v1_insert_job(sqlite3 *db, const Job *j, int64_t seq) {
        g_autofree char *headers = j->http_headers ? g_strjoinv("\n", j->http_headers) : NULL;
        sqlite3_stmt *st = NULL;
        int i = 1;

        g_assert_cmpint(sqlite3_prepare_v2(db,
                                           "INSERT INTO jobs (id, seq, type, owner, display_name, description,"
                                           "  state, priority, auto_complete, allow_insecure_redirect,"
                                           "  bandwidth_limit, minimum_retry_delay, no_progress_timeout,"
                                           "  http_headers, creation_time, modification_time, completion_time,"
                                           "  last_progress_time, retry_time, retire_time, error_name,"
                                           "  error_message, error_summary, error_count) "
                                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                           -1, &st, NULL), ==, SQLITE_OK);
        v1_text(st, i++, j->id);
        v1_int(st, i++, (uint64_t) seq);
        v1_text(st, i++, job_type_to_string(j->type));
        v1_int(st, i++, j->owner);
        v1_text(st, i++, j->display_name);
        v1_text(st, i++, j->description);
        v1_text(st, i++, job_state_to_string(j->state));
        v1_text(st, i++, job_priority_to_string(j->priority));
        v1_int(st, i++, j->auto_complete);
        v1_int(st, i++, j->allow_insecure_redirect);
        v1_int(st, i++, j->bandwidth_limit);
        v1_int(st, i++, j->minimum_retry_delay);
        v1_int(st, i++, j->no_progress_timeout);
        v1_text(st, i++, headers);
        v1_int(st, i++, j->creation_time);
        v1_int(st, i++, j->modification_time);
        v1_int(st, i++, j->completion_time);
        v1_int(st, i++, j->last_progress_time);
        v1_int(st, i++, j->retry_time);
        v1_int(st, i++, j->retire_time);
        v1_text(st, i++, j->error_name);
        v1_text(st, i++, j->error_message);
        v1_text(st, i++, j->error_summary);
        v1_int(st, i++, j->error_count);
        v1_step(st);

        for (size_t k = 0; k < j->n_files; k++) {
                const JobFile *jf = j->files[k];

                i = 1;
                g_assert_cmpint(sqlite3_prepare_v2(db,
                                                   "INSERT INTO files (job_id, idx, url, path, dir, name, temp_name,"
                                                   "  dir_dev, dir_ino, temp_exists, completed, committed, bytes_total,"
                                                   "  bytes_transferred, validator) "
                                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                                   -1, &st, NULL), ==, SQLITE_OK);
                v1_text(st, i++, j->id);
                v1_int(st, i++, k);
                v1_text(st, i++, jf->url);
                v1_text(st, i++, jf->path);
                v1_text(st, i++, jf->dir);
                v1_text(st, i++, jf->name);
                v1_text(st, i++, jf->temp_name);
                v1_int(st, i++, jf->dir_dev);
                v1_int(st, i++, jf->dir_ino);
                v1_int(st, i++, jf->temp_exists);
                v1_int(st, i++, jf->completed);
                v1_int(st, i++, jf->committed);
                v1_int(st, i++, jf->bytes_total);
                v1_int(st, i++, jf->bytes_transferred);
                v1_text(st, i++, jf->validator);
                v1_step(st);
        }
}

/* Version 11 dropped the index of jobs by age, which no query read. */
#define NO_INDEX_BY_AGE "SELECT count(*) FROM sqlite_schema WHERE name = 'jobs_by_age'"

/* The store opened again: at today's version, every file still its job's, no index by age,
 * and exactly the jobs of want. */
static void assert_migrated(const Fixture *f, const GPtrArray *want) {
        Store *s = open_store(f);

        g_assert_cmpint(raw_int(f->db, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
        g_assert_cmpint(raw_int(f->db, NO_INDEX_BY_AGE), ==, 0);
        assert_loads_all(s, want);
        store_close(s);
}

/* A store of version 10 (the rows keyed by insertion order, with the index by age): every job
 * and file as it was, the index gone. */
static void test_migrate_v10(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
        Store *s = open_store(f);

        for (unsigned i = 0; i < 5; i++) {
                Job *j = job_new(150 + i, i == 4 ? JOB_TRANSFERRED : JOB_QUEUED, i == 3 ? 0 : 3, i % 3);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                g_ptr_array_add(want, j);
        }
        store_close(s);
        raw_exec(f->db, "CREATE INDEX jobs_by_age ON jobs (creation_time, seq); PRAGMA user_version = 10;");
        g_assert_cmpint(raw_int(f->db, NO_INDEX_BY_AGE), ==, 1);

        assert_migrated(f, want);
}

/* A store of version 9, the one every installed xferd of the last release has, with every
 * column set as that release wrote it: the version 10 copy keeps every job and file value, the
 * keys and the files' jobs. Made by writing the jobs with today's code and moving the rows back
 * into version 9's tables, keyed by id. */
static void test_migrate_v9(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
        g_autofree char *jobs = NULL, *files = NULL, *files_from = NULL, *sql = NULL;
        Store *s = open_store(f);

        for (unsigned i = 0; i < 5; i++) {
                Job *j = job_new(130 + i, i == 4 ? JOB_TRANSFERRED : JOB_QUEUED, i == 3 ? 0 : 3, i == 4 ? 3 : i % 3);
                j->max_concurrent_files = 16;
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                g_ptr_array_add(want, j);
        }
        store_close(s);

        raw_exec(f->db, "ALTER TABLE jobs RENAME TO j10; ALTER TABLE files RENAME TO f10;"
                        "DROP TABLE pending_unlinks; DROP TABLE pending_deletes;");
        raw_exec(f->db, v1_schema);
        raw_exec(f->db, v2_to_v9_steps);
        jobs = column_list(f->db, "jobs", NULL, "");
        files = column_list(f->db, "files", "job_id", "");
        files_from = column_list(f->db, "files", "job_id", "f.");
        sql = g_strdup_printf("INSERT INTO jobs (%s) SELECT %s FROM j10 ORDER BY seq;"
                              "INSERT INTO files (job_id, %s) SELECT j.id, %s"
                              "  FROM f10 AS f JOIN j10 AS j ON j.seq = f.job_seq;"
                              "DROP TABLE f10; DROP TABLE j10; PRAGMA user_version = 9;",
                              jobs, jobs, files, files_from);
        raw_exec(f->db, sql);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 12);

        assert_migrated(f, want);
}

/* A store written by the first release is upgraded in place: nothing moved aside, every job
 * and pending unlink kept, the new column NULL, the new table there and empty. */
static void test_migrate_v1(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify) test_job_free);
        _cleanup_(store_unlink_list_done) StoreUnlinkList unlinks = { .items = NULL };
        g_autoptr(GPtrArray) deletes = g_ptr_array_new_with_free_func((GDestroyNotify) delete_free);
        g_autoptr(GPtrArray) got = NULL, broken = NULL;
        g_autofree char *log = NULL;
        PendingDelete pd = { .url = (char *) "https://tus.example.com/files/m", .owner = 1000,
                             .deadline = 9, .next_try = 8, .attempts = 1 };
        sqlite3 *db = NULL;
        Job *j;
        Store *s;

        for (unsigned i = 0; i < 5; i++) {
                j = job_new(110 + i, i == 0 ? JOB_TRANSFERRING : i == 4 ? JOB_TRANSFERRED : JOB_QUEUED, 3,
                            i == 4 ? 3 : i % 3);
                j->store_key = i + 1;                   /* version 10 keys the rows by seq */
                g_clear_pointer(&j->upload_url, free);  /* version 1 had none */
                clear_integrity(j);
                j->minimum_notification_interval = 500;   /* version 3 gives the default */
                j->max_concurrent_files = 1;             /* version 9 gives the default */
                g_clear_pointer(&j->cancel_with, free);
                j->cost_policy = _COST_POLICY_INVALID;   /* version 5 gives "the default" */
                g_clear_pointer(&j->proxy, free);       /* nor these of version 5 */
                j->bytes_from_cache = j->bytes_from_origin = 0;
                fs_identity_done(&j->identity);           /* nor the caller's groups */
                j->identity = (FsIdentity) { .uid = 0 };
                j->identity_from_caller = false;
                g_ptr_array_add(want, j);
        }
        /* Headers absent on one, as version 1 wrote them (NULL). */
        g_clear_pointer(&((Job *) g_ptr_array_index(want, 2))->http_headers, g_strfreev);

        g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
        g_assert_cmpint(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; BEGIN", NULL, NULL, NULL),
                        ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), ==, SQLITE_OK);
        for (guint i = 0; i < want->len; i++)
                v1_insert_job(db, g_ptr_array_index(want, i), (int64_t) i + 1);
        g_assert_cmpint(sqlite3_exec(db,
                                     "INSERT INTO pending_unlinks VALUES (1000, '/home/a', 2049, 42, '.x.xferd-1-0');"
                                     "PRAGMA user_version = 1; COMMIT",
                                     NULL, NULL, NULL), ==, SQLITE_OK);
        g_assert_cmpint(sqlite3_close(db), ==, SQLITE_OK);

        s = open_store_capturing(f, &log);
        g_assert_cmpstr(log, ==, "");                   /* an upgrade is not worth a word */
        broken = list_broken(f);
        g_assert_cmpuint(broken->len, ==, 0);
        g_assert_cmpint(raw_int(f->db, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE upload_url IS NULL"), ==, 5);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE minimum_notification_interval = 500"), ==, 5);
        /* Version 9: one file after another, as before. */
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE max_concurrent_files = 1"), ==, 5);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE cancel_with IS NULL"), ==, 5);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files WHERE checksum IS NULL AND mirrors IS NULL"
                                       "  AND expected_size IS NULL AND url_index = 0 AND verified_by = 0"), ==, 15);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE cost_policy IS NULL"), ==, 5);
        /* Version 5: the daemon's proxy, nothing counted yet. */
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE proxy IS NULL AND bytes_from_cache = 0"
                                       " AND bytes_from_origin = 0"), ==, 5);
        /* Jobs from before: the user database's groups when they are loaded. */
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM jobs WHERE fs_groups IS NULL AND fs_gid IS NULL"), ==, 5);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 15);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pending_deletes"), ==, 0);
        /* Version 10: the rows keyed by seq, the files by their job's; no index by id, every
         * file still its job's. Version 11: none by age either. */
        g_assert_cmpint(raw_int(f->db, "SELECT pk FROM pragma_table_info('jobs') WHERE name = 'seq'"), ==, 1);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pragma_index_list('jobs')"), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('files') WHERE name = 'job_id'"), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files JOIN jobs ON seq = job_seq"), ==, 15);

        got = load_all(s);
        g_assert_cmpuint(got->len, ==, want->len);
        for (guint i = 0; i < want->len; i++) {
                assert_job_equal(g_ptr_array_index(got, i), g_ptr_array_index(want, i));
                g_assert_null(((Job *) g_ptr_array_index(got, i))->upload_url);
        }
        g_clear_pointer(&got, g_ptr_array_unref);
        g_assert_cmpint(store_load_pending_unlinks(s, collect_unlink, &unlinks), ==, 0);
        g_assert_cmpuint(unlinks.n, ==, 1);
        g_assert_cmpstr(unlinks.items[0].name, ==, ".x.xferd-1-0");

        /* The upgraded file takes what is new; the next open does not migrate again. */
        j = g_ptr_array_index(want, 1);
        j->upload_url = strdup("https://tus.example.com/files/after-upgrade");
        j->cost_policy = COST_POLICY_UNMETERED;
        j->max_concurrent_files = 16;
        g_assert_cmpint(store_save_job_row(s, j), ==, 0);
        j = job_new(120, JOB_QUEUED, 2, 0);
        j->store_key = store_new_key(s);
        g_assert_cmpint(j->store_key, ==, 6);          /* after the migrated ones */
        g_ptr_array_add(want, j);
        g_assert_cmpint(store_save_job(s, j), ==, 0);
        g_assert_cmpint(store_save_pending_delete(s, &pd), ==, 0);
        g_assert_cmpint(store_delete_job(s, g_ptr_array_index(want, 0)), ==, 0);
        g_ptr_array_remove_index(want, 0);
        g_assert_cmpint(raw_int(f->db, "SELECT count(*) FROM files"), ==, 14);    /* the cascade still holds */

        s = reopen(f, s);
        g_assert_cmpint(raw_int(f->db, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);
        assert_loads_all(s, want);
        g_assert_cmpint(store_load_pending_deletes(s, collect_delete, deletes), ==, 0);
        g_assert_cmpuint(deletes->len, ==, 1);
        assert_delete_equal(g_ptr_array_index(deletes, 0), &pd);
        store_close(s);
}

static bool count_want(void *userdata) {
        (*(unsigned *) userdata)++;
        return true;
}

/* A checkpoint still running: the first n asks are not taken. */
typedef struct Busy {
        unsigned asked, refuse;
} Busy;

static bool busy_want(void *userdata) {
        Busy *b = userdata;

        return ++b->asked > b->refuse;
}

static gpointer checkpoint_thread(gpointer data) {
        return GINT_TO_POINTER(store_checkpoint(data));
}

static off_t file_size(const char *path) {
        struct stat st;

        g_assert_cmpint(stat(path, &st), ==, 0);
        return st.st_size;
}

/* No commit copies the log into the database (that is a write and a sync a caller would wait
 * for): the store asks, and store_checkpoint() does it on another thread, beside the commits. */
static void test_checkpoint(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        unsigned wanted = 0, seed = 1;
        off_t before;
        int left;

        store_set_checkpoint_callback(s, count_want, &wanted);
        /* Whatever opening wrote (the schema) is in the database first. */
        g_assert_cmpint(store_checkpoint(s), ==, 0);
        before = file_size(f->db);
        for (; wanted == 0 && seed < 100000; seed++) {
                Job *j = job_new(seed, JOB_QUEUED, 3, 1);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
        }
        g_assert_cmpuint(wanted, ==, 1);
        /* The commits crossed STORE_CHECKPOINT_PAGES and still none of them checkpointed. */
        g_assert_cmpint(file_size(f->db), ==, before);

        left = GPOINTER_TO_INT(g_thread_join(g_thread_new("checkpoint", checkpoint_thread, s)));
        g_assert_cmpint(left, ==, 0);
        g_assert_cmpint(file_size(f->db), >, before);

        /* Everything is there, also after a reopen. */
        s = reopen(f, s);
        {
                g_autoptr(GPtrArray) got = load_all(s);
                g_assert_cmpuint(got->len, ==, seed - 1);
        }
        store_close(s);
}

static unsigned commit_until_wanted(Store *s, unsigned *wanted, unsigned *seed, unsigned n) {
        unsigned commits = 0;

        while (*wanted < n) {
                Job *j = job_new((*seed)++, JOB_QUEUED, 3, 1);
                g_assert_cmpint(store_save_job(s, j), ==, 0);
                test_job_free(j);
                g_assert_cmpuint(++commits, <, 100000);
        }
        return commits;
}

/* While the log grows (no checkpoint ran, or commits went on beside it), a commit asks again
 * only once the log holds STORE_CHECKPOINT_PAGES frames more than when it last asked, not at
 * every commit; after the log started over, from its start. */
static void test_checkpoint_asked(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        int64_t frame = raw_int(f->db, "PRAGMA page_size") + 24;
        unsigned wanted = 0, seed = 1, commits;
        goffset asked;

        store_set_checkpoint_callback(s, count_want, &wanted);
        g_assert_cmpint(store_checkpoint(s), ==, 0);
        (void) commit_until_wanted(s, &wanted, &seed, 1);
        asked = wal_size(f);
        commits = commit_until_wanted(s, &wanted, &seed, 2);
        g_assert_cmpuint(commits, >, 20);
        /* The commit that asked wrote a few frames past the mark: the one before had not. */
        g_assert_cmpint((wal_size(f) - asked) / frame, >=, STORE_CHECKPOINT_PAGES);
        g_assert_cmpint((wal_size(f) - asked) / frame, <, STORE_CHECKPOINT_PAGES + 50);

        /* Copied whole: the next commit starts the log over, and asks once it is long again. */
        g_assert_cmpint(store_checkpoint(s), ==, 0);
        asked = wal_size(f);
        commits = commit_until_wanted(s, &wanted, &seed, 3);
        g_assert_cmpuint(commits, >, 20);
        g_assert_cmpint(wal_size(f), ==, asked);
        store_close(s);
}

static void save_one(Store *s, unsigned seed) {
        Job *j = job_new(seed, JOB_QUEUED, 3, 1);

        g_assert_cmpint(store_save_job(s, j), ==, 0);
        test_job_free(j);
}

/* An ask not taken (a checkpoint still runs) is not lost: the next commit asks again, until
 * one is taken; then none until the log is long again. */
static void test_checkpoint_busy(Fixture *f, gconstpointer data) {
        Store *s = open_store(f);
        Busy b = { .refuse = 3 };
        unsigned seed = 1;

        store_set_checkpoint_callback(s, busy_want, &b);
        g_assert_cmpint(store_checkpoint(s), ==, 0);
        while (b.asked == 0) {
                save_one(s, seed++);
                g_assert_cmpuint(seed, <, 100000);
        }
        for (unsigned i = 0; i < 3; i++) {
                save_one(s, seed++);
                g_assert_cmpuint(b.asked, ==, 2 + i);
        }
        save_one(s, seed++);
        g_assert_cmpuint(b.asked, ==, 4);
        store_close(s);
}

static void test_modes(Fixture *f, gconstpointer data) {
        g_autofree char *parent = g_path_get_dirname(f->dir);
        g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);
        struct stat st;
        Store *s;
        Job *j = fixture_job(f, 80, JOB_QUEUED, 1, 0);

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
        {
                /* The WAL index stays in the daemon's memory: no shared-memory file. */
                g_autofree char *shm = g_strconcat(f->db, "-shm", NULL);
                g_assert_cmpint(stat(shm, &st), <, 0);
        }
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
}

static void test_scale(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) got = NULL;
        Store *s = open_store(f);
        Job *big = fixture_job(f, 90, JOB_QUEUED, 200, 0);
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
        /* How long this takes is the benchmark's to measure (tests/bench/run.sh: restart with
         * 10 000 jobs), not a test's: a bound on a loaded machine only flakes. */

        store_close(s);
}

/* A NULL argument is a bug in the caller: the store asserts instead of going on. Each call
 * runs in a subprocess on a real store in a directory the parent made and removes. */
static void null_remove_pending_delete(Store *s) {
        (void) store_remove_pending_delete(s, NULL);
}

static void null_load_pending_deletes(Store *s) {
        (void) store_load_pending_deletes(s, NULL, NULL);
}

static void null_delete_job(Store *s) {
        (void) store_delete_job(s, NULL);
}

static void null_add_pending_unlink(Store *s) {
        (void) store_add_pending_unlink(s, 1000, "/tmp", 1, 2, NULL);
}

typedef struct NullCall {
        void (*call)(Store *s);
} NullCall;

static const NullCall null_calls[] = {
        { null_remove_pending_delete },
        { null_load_pending_deletes },
        { null_delete_job },
        { null_add_pending_unlink },
};

static void assert_aborts(gconstpointer data);

static const TestDataCase null_argument_cases[] = {
        { "/store/null-argument/remove-pending-delete", assert_aborts, &null_calls[0] },
        { "/store/null-argument/load-pending-deletes", assert_aborts, &null_calls[1] },
        { "/store/null-argument/delete-job", assert_aborts, &null_calls[2] },
        { "/store/null-argument/add-pending-unlink", assert_aborts, &null_calls[3] },
        { NULL, NULL, NULL }
};

static void assert_aborts(gconstpointer data) {
        const NullCall *c = data;
        g_autofree char *tmp = NULL;

#ifdef NDEBUG
        g_test_skip("assertions are compiled out");
        return;
#endif
        if (g_test_subprocess()) {
                Store *s = NULL;

                g_assert_cmpint(store_open(g_getenv("XFERD_TEST_STORE_DIR"), &s), ==, 0);
                c->call(s);
                store_close(s);
                return;         /* the parent sees a clean exit: the test fails */
        }
        tmp = g_dir_make_tmp("xferd-test-store-XXXXXX", NULL);
        g_assert_nonnull(tmp);
        g_setenv("XFERD_TEST_STORE_DIR", tmp, TRUE);
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
        g_test_trap_assert_failed();
        g_test_trap_assert_stderr("*Assertion*failed*");
        g_unsetenv("XFERD_TEST_STORE_DIR");
        g_assert_cmpint(nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), ==, 0);
}

/* The growth of the store's lists: doubling, and sizes no allocator makes (more bytes than a
 * size_t holds, or a count whose doubling would wrap) refused before they are asked for,
 * without losing the list. */
static void test_array_reserve(void) {
        /* Not constants: the compiler would warn about the sizes it can see refused. */
        volatile size_t too_many = SIZE_MAX / sizeof(uint64_t) + 1, past_half = SIZE_MAX / 2 + 2;
        uint64_t *items = NULL, *kept;
        size_t allocated = 0, huge;

        g_assert_cmpint(array_reserve((void **) &items, &allocated, 1, sizeof *items), ==, 0);
        g_assert_nonnull(items);
        g_assert_cmpuint(allocated, ==, 16);
        items[15] = 15;
        g_assert_cmpint(array_reserve((void **) &items, &allocated, 16, sizeof *items), ==, 0);
        g_assert_cmpuint(allocated, ==, 16);
        g_assert_cmpint(array_reserve((void **) &items, &allocated, 17, sizeof *items), ==, 0);
        g_assert_cmpuint(allocated, ==, 32);
        g_assert_cmpint(array_reserve((void **) &items, &allocated, 100, sizeof *items), ==, 0);
        g_assert_cmpuint(allocated, ==, 100);
        g_assert_cmpuint(items[15], ==, 15);

        kept = items;
        g_assert_cmpint(array_reserve((void **) &items, &allocated, too_many, sizeof *items), ==, -ENOMEM);
        g_assert_true(items == kept);
        g_assert_cmpuint(allocated, ==, 100);

        /* A count past half of SIZE_MAX must not wrap to a small allocation when doubled. */
        huge = past_half;
        g_assert_cmpint(array_reserve((void **) &items, &huge, huge + 1, 1), ==, -ENOMEM);
        g_assert_true(items == kept);
        g_assert_cmpuint(huge, ==, past_half);
        free(items);
}

/* A parameter's index is remembered per statement until it is finalized: a statement made
 * afterwards at the same address, with its parameters in another order, is bound by its own. */
static void test_param_cache(void) {
        static const char *const x = "$x", *const y = "$y";
        sqlite3_stmt *a = NULL, *b = NULL;
        sqlite3 *db = NULL;
        int rc = SQLITE_OK, tries = 0;

        g_assert_cmpint(sqlite3_open(":memory:", &db), ==, SQLITE_OK);
        do {
                g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT $x, $y", -1, &a, NULL), ==, SQLITE_OK);
                sql_bind_int64(a, y, 1, &rc);
                sql_bind_int64(a, x, 2, &rc);
                g_assert_cmpint(rc, ==, SQLITE_OK);
                g_assert_cmpint(sqlite3_step(a), ==, SQLITE_ROW);
                g_assert_cmpint(sqlite3_column_int64(a, 0), ==, 2);
                g_assert_true(sql_param_cache_knows(a));
                sql_finalize(a);
                /* Forgotten: whatever is made at this address next starts afresh. */
                g_assert_false(sql_param_cache_knows(a));
                g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT $y, $x", -1, &b, NULL), ==, SQLITE_OK);
                if (b != a) {
                        sql_finalize(b);
                        continue;
                }
                /* The same address: the indexes of the first statement must not be used. */
                sql_bind_int64(b, y, 7, &rc);
                sql_bind_int64(b, x, 8, &rc);
                g_assert_cmpint(rc, ==, SQLITE_OK);
                g_assert_cmpint(sqlite3_step(b), ==, SQLITE_ROW);
                g_assert_cmpint(sqlite3_column_int64(b, 0), ==, 7);
                g_assert_cmpint(sqlite3_column_int64(b, 1), ==, 8);
                sql_finalize(b);
                break;
        } while (++tries < 100);
        /* glibc's malloc gives the freed block back to the next statement of its size, and the
         * case above runs; AddressSanitizer's allocator holds freed blocks back, and only the
         * forgetting is checked. */
        g_test_message("a statement made at a finalized one's address after %d tries", tries);
        sqlite3_close(db);
}

/* A table's columns are bound by index from the first when a statement lists them in order,
 * by name when it does not; where a statement binds them is forgotten when it is finalized. */
typedef struct ColumnsRecord {
        uint64_t a;
        char *b;
} ColumnsRecord;

static void check_columns_bound(sqlite3 *db, const char *sql, int col_a, int col_b) {
        static const StoreColumn columns[] = {
                { .param = ":a", .kind = STORE_COLUMN_U64, .offset = offsetof(ColumnsRecord, a) },
                { .param = ":b", .kind = STORE_COLUMN_TEXT, .offset = offsetof(ColumnsRecord, b) },
        };
        static const StoreColumnTable table = { columns, 2 };
        ColumnsRecord rec = { .a = 42, .b = (char *) "forty-two" };
        sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK;

        g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
        for (int round = 0; round < 2; round++) {  /* found, then remembered */
                store_columns_bind(st, &table, &rec, &rc);
                g_assert_cmpint(rc, ==, SQLITE_OK);
                g_assert_true(store_columns_known(st));
                g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
                g_assert_cmpint(sqlite3_column_int64(st, col_a), ==, 42);
                g_assert_cmpstr((const char *) sqlite3_column_text(st, col_b), ==, "forty-two");
                g_assert_cmpint(sqlite3_reset(st), ==, SQLITE_OK);
                g_assert_cmpint(sqlite3_clear_bindings(st), ==, SQLITE_OK);
        }
        sql_finalize(st);
        g_assert_false(store_columns_known(st));
}

static void test_columns_bind(void) {
        sqlite3 *db = NULL;

        g_assert_cmpint(sqlite3_open(":memory:", &db), ==, SQLITE_OK);
        check_columns_bound(db, "SELECT :a, :b", 0, 1);
        check_columns_bound(db, "SELECT :x, :a, :b", 1, 2);
        check_columns_bound(db, "SELECT :b, :x, :a", 2, 0);      /* not in order: by name */
        check_columns_bound(db, "SELECT :b, :a", 1, 0);
        sqlite3_close(db);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/store/roundtrip", test_roundtrip);
        ADD("/store/update", test_update);
        ADD("/store/order", test_order);
        ADD("/store/file-rows-order", test_file_rows_order);
        ADD("/store/log-pages", test_log_pages);
        ADD("/store/mapping-released", test_mapping_released);
        ADD("/store/nested", test_nested);
        ADD("/store/commit-inside", test_commit_inside);
        ADD("/store/delete-cascade", test_delete);
        ADD("/store/pending-unlinks", test_pending_unlinks);
        ADD("/store/upload-url", test_upload_url);
        ADD("/store/pending-deletes", test_pending_deletes);
        ADD("/store/adopt-error", test_adopt_error);
        ADD("/store/unreadable-row", test_unreadable_row);
        ADD("/store/foreign-id", test_foreign_id);
        ADD("/store/garbage", test_garbage);
        ADD("/store/truncated", test_truncated);
        ADD("/store/damaged", test_damaged);
        ADD("/store/future-version", test_future_version);
        ADD("/store/foreign-database", test_foreign_database);
        ADD("/store/migrate-v1", test_migrate_v1);
        ADD("/store/migrate-v9", test_migrate_v9);
        ADD("/store/migrate-v10", test_migrate_v10);
        ADD("/store/modes", test_modes);
        ADD("/store/checkpoint", test_checkpoint);
        ADD("/store/checkpoint-asked", test_checkpoint_asked);
        ADD("/store/checkpoint-busy", test_checkpoint_busy);
        ADD("/store/scale", test_scale);
#undef ADD
        g_test_add_func("/store/array-reserve", test_array_reserve);
        g_test_add_func("/store/param-cache", test_param_cache);
        g_test_add_func("/store/columns-bind", test_columns_bind);
        test_add_data_cases(null_argument_cases);

        return g_test_run();
}
