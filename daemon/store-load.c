/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading every stored job at start-up: one pass over the job rows and one over the file
 * rows, each in its table's own order (no index, no sort by SQLite), files matched to their
 * job by a cursor that follows the jobs' order. */
#include <stdlib.h>

#include "heap-huge.h"
#include "job.h"
#include "job-record.h"
#include "log.h"
#include "store-internal.h"

static void store_job_file_freep(JobFile **f) {
        job_file_free(*f);
}

static void store_job_freep(Job **j) {
        job_record_free(*j);
}

/* The loaded jobs, by key (insertion order) as read, oldest first once sorted. */
typedef struct JobList {
        Job **jobs;
        size_t n, allocated;
} JobList;

static void store_job_list_done(JobList *l) {
        for (size_t i = 0; i < l->n; i++)
                job_record_free(l->jobs[i]);
        free(l->jobs);
}

/* The columns written out, in the order of the SELECTs below; the tables' columns
 * (store-columns.c) follow them. */
enum {
        JC_SEQ, JC_ID, JC_TYPE, JC_STATE, JC_PRIORITY, JC_HTTP_HEADERS, JC_COST_POLICY, JC_FS_GID,
        JC_FS_GROUPS, JC_MAX_CONCURRENT_FILES,
        JC_PLAIN,
};

#define JOB_SELECT \
        "SELECT seq, id, type, state, priority, http_headers, cost_policy, fs_gid, fs_groups, max_concurrent_files"

enum {
        FC_JOB_SEQ, FC_IDX, FC_COMMITTED, FC_MIRRORS, FC_EXPECTED_SIZE,
        FC_PLAIN,
};

#define FILE_SELECT "SELECT job_seq, idx, committed, mirrors, expected_size"

/* The job of each file row: the rows come in the order they were written, nearly always by
 * their job's key, as the jobs did, so a cursor finds it. */
typedef struct FileReader {
        JobList *list;
        size_t next;            /* the first job that a later row may belong to */
        int64_t last;           /* the key of the row before */
        bool ordered;           /* every job's rows came by key, then by idx, without a gap */
} FileReader;

/* NULL: a file of a job that was skipped as unreadable, or one out of order (then `ordered`
 * is false). */
static Job *file_reader_job(FileReader *fr, int64_t key) {
        JobList *l = fr->list;

        if (key < fr->last) {
                fr->ordered = false;
                return NULL;
        }
        fr->last = key;
        while (fr->next < l->n && l->jobs[fr->next]->store_key < key)
                fr->next++;
        return fr->next < l->n && l->jobs[fr->next]->store_key == key ? l->jobs[fr->next] : NULL;
}

/* Room for one more file: exactly one for the first (most jobs have one file), then doubling.
 * A larger block shrunk afterwards would leave a hole too small for anything else behind each
 * of 100 000 jobs. */
static int job_files_grow(Job *j) {
        JobFile **v;
        size_t a;

        if (j->n_files < j->n_files_allocated)
                return 0;
        if (j->n_files_allocated > SIZE_MAX / 2 / sizeof(JobFile *))
                return -ENOMEM;
        a = j->n_files_allocated > 0 ? j->n_files_allocated * 2 : 1;
        v = reallocarray(j->files, a, sizeof(JobFile *));
        if (!v)
                return -ENOMEM;
        j->files = v;
        j->n_files_allocated = a;
        return 0;
}

static int store_read_file(Store *s, sqlite3_stmt *files, void *userdata) {
        FileReader *fr = userdata;
        _cleanup_(store_job_file_freep) JobFile *f = NULL;
        _cleanup_free_ char *mirrors = NULL;
        Job *j = file_reader_job(fr, sqlite3_column_int64(files, FC_JOB_SEQ));

        if (!j)
                return 0;
        /* Out of order (a job's files added after newer jobs, rows rewritten) or a gap: the
         * ordered query decides. */
        if (sqlite3_column_int64(files, FC_IDX) != (int64_t) j->n_files)
                fr->ordered = false;

        const char *names[_STORE_FILE_NAMES];
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                /* None is NULL: a NULL here is out of memory. */
                names[i] = (const char *) sqlite3_column_text(files, FC_PLAIN + (int) i);
                if (!names[i])
                        return log_oom();
        }
        f = job_file_new(names[STORE_FILE_NAME_URL], names[STORE_FILE_NAME_PATH], names[STORE_FILE_NAME_DIR],
                         names[STORE_FILE_NAME_NAME], names[STORE_FILE_NAME_TEMP_NAME]);
        if (!f ||
            store_columns_read(files, FC_PLAIN, &store_file_columns, f) < 0 ||
            sql_column_dup(files, FC_MIRRORS, &mirrors) < 0 ||
            (mirrors && sql_split_headers(mirrors, &f->mirrors) < 0))
                return log_oom();
        if (f->url_index > strv_length(f->mirrors))
                f->url_index = 0;  /* a damaged row: start from the file's own URL */
        f->expect_size = sqlite3_column_type(files, FC_EXPECTED_SIZE) != SQLITE_NULL;
        f->expected_size = (uint64_t) sqlite3_column_int64(files, FC_EXPECTED_SIZE);
        f->committed = sqlite3_column_int64(files, FC_COMMITTED) != 0;

        if (job_files_grow(j) < 0)
                return log_oom();
        j->files[j->n_files++] = TAKE_PTR(f);
        return 0;
}

static void store_forget_files(JobList *list) {
        for (size_t i = 0; i < list->n; i++) {
                Job *j = list->jobs[i];
                for (size_t k = 0; k < j->n_files; k++)
                        job_file_free(j->files[k]);
                j->n_files = 0;
        }
}

/* The rows of the files table, `tail` (FROM ...) saying which and in what order. */
static int store_read_files(Store *s, const char *tail, FileReader *fr) {
        _cleanup_free_ char *sql = store_columns_select(FILE_SELECT, &store_file_columns, tail);

        if (!sql)
                return log_oom();
        *fr = (FileReader) { .list = fr->list, .ordered = true };
        return store_read_all(s, sql, "files", store_read_file, fr);
}

/* Every job's files, then its first file still to transfer (all done is n_files). */
static int store_load_files(Store *s, JobList *list) {
        FileReader fr = { .list = list };
        int r;

        /* The table's own order is the order the rows were written in: a job's files after it,
         * by idx. */
        r = store_read_files(s, "FROM files", &fr);
        if (r >= 0 && !fr.ordered) {
                /* Rarely (files added to an older job, a damaged store): by the key's index, as a
                 * job's files must come; a gap in a job's idx closes up. */
                store_forget_files(list);
                r = store_read_files(s, "FROM files ORDER BY job_seq, idx", &fr);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < list->n; i++) {
                Job *j = list->jobs[i];
                while (j->current < j->n_files && j->files[j->current]->completed)
                        j->current++;
                /* Room for its files only. */
                if (j->n_files > 0 && j->n_files < j->n_files_allocated) {
                        JobFile **v = realloc(j->files, j->n_files * sizeof(JobFile *));
                        if (v) {
                                j->files = v;
                                j->n_files_allocated = j->n_files;
                        }
                }
        }
        return 0;
}

/* An id as manager_create_job() makes it: 32 lower-case hex digits. Ids go out in replies and
 * signals unchecked, and an object path is made of them: a damaged one must not get that far. */
static bool store_id_is_ours(const char *id) {
        size_t n = strspn(id, "0123456789abcdef");

        return n == 32 && id[n] == '\0';
}
_Static_assert(sizeof(((Job *) 0)->id) == 33, "store_load_job() copies 32 digits and the NUL");

/* Returns 1 and the job, 0 for a row that cannot be a job (skipped with a warning), or a
 * negative errno. */
static int store_load_job(Store *s, sqlite3_stmt *st, Job **ret) {
        _cleanup_(store_job_freep) Job *j = NULL;
        const char *id = (const char *) sqlite3_column_text(st, JC_ID);
        const char *type = (const char *) sqlite3_column_text(st, JC_TYPE);
        const char *state = (const char *) sqlite3_column_text(st, JC_STATE);
        const char *priority = (const char *) sqlite3_column_text(st, JC_PRIORITY);
        _cleanup_free_ char *headers = NULL;
        int r;

        if (!id || !type || !state || !priority)
                return log_oom();
        /* Only a damaged row gets here: a newer xferd would have raised the schema version. */
        if (!store_id_is_ours(id) || job_type_from_string(type) < 0 ||
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
        j->store_key = sqlite3_column_int64(st, JC_SEQ);
        j->type = job_type_from_string(type);
        j->state = job_state_from_string(state);
        j->priority = job_priority_from_string(priority);
        /* NULL (a job from before cost policies) or unreadable: the manager picks the default. */
        j->cost_policy = cost_policy_from_string((const char *) sqlite3_column_text(st, JC_COST_POLICY));
        /* A damaged value is taken as the default rather than as a limit nobody chose. */
        int64_t mcf = sqlite3_column_int64(st, JC_MAX_CONCURRENT_FILES);
        j->max_concurrent_files = mcf >= 1 && mcf <= JOB_MAX_CONCURRENT_FILES ? (uint32_t) mcf : 1;
        if (store_columns_read(st, JC_PLAIN, &store_job_columns, j) < 0 ||
            sql_column_dup(st, JC_HTTP_HEADERS, &headers) < 0 ||
            (headers && sql_split_headers(headers, &j->http_headers) < 0))
                return log_oom();

        /* The creating caller's groups; the manager reads the user database for the others. */
        const char *groups = (const char *) sqlite3_column_text(st, JC_FS_GROUPS);
        if (groups && sqlite3_column_type(st, JC_FS_GID) == SQLITE_INTEGER) {
                r = sql_split_gids(groups, &j->identity.groups, &j->identity.n_groups);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        log_warning("Store %s: job %s has unreadable groups \"%.40s\"; using the user database's.",
                                    s->path, j->id, groups);
                else {
                        j->identity.uid = j->owner;
                        j->identity.gid = (gid_t) sqlite3_column_int64(st, JC_FS_GID);
                        j->identity_from_caller = true;
                }
        }

        *ret = TAKE_PTR(j);
        return 1;
}

static int store_read_job(Store *s, sqlite3_stmt *st, void *userdata) {
        JobList *list = userdata;
        _cleanup_(store_job_freep) Job *j = NULL;
        int r;

        r = store_load_job(s, st, &j);
        if (r <= 0)
                return r;
        if (array_reserve((void **) &list->jobs, &list->allocated, list->n + 1, sizeof(Job *)) < 0)
                return log_oom();
        list->jobs[list->n++] = TAKE_PTR(j);
        return 0;
}

static int job_compare(const void *a, const void *b) {
        const Job *x = *(Job *const *) a, *y = *(Job *const *) b;

        if (x->creation_time != y->creation_time)
                return x->creation_time < y->creation_time ? -1 : 1;
        return (x->store_key > y->store_key) - (x->store_key < y->store_key);
}

/* Oldest first: by creation time, then insertion order. The table's order is nearly always
 * that already; a sort only when it is not. */
static void store_sort_jobs(JobList *list) {
        for (size_t i = 1; i < list->n; i++)
                if (job_compare(&list->jobs[i - 1], &list->jobs[i]) > 0) {
                        qsort(list->jobs, list->n, sizeof(Job *), job_compare);
                        return;
                }
}

/* The most bytes of a store that a load prepares huge pages for. */
#define STORE_HUGE_MAX ((uint64_t) 1 << 30)

int store_load_jobs(Store *s, int (*reserve)(size_t n, void *userdata), int (*adopt)(Job *j, void *userdata),
                    void *userdata) {
        _cleanup_(store_job_list_done) JobList list = { .jobs = NULL };
        _cleanup_free_ char *sql = NULL;
        HeapHuge huge;
        uint64_t bytes;
        int r;

        assert(s);
        assert(adopt);

        r = store_check_usable(s);
        if (r < 0)
                return r;
        sql = store_columns_select(JOB_SELECT, &store_job_columns, "FROM jobs ORDER BY seq");
        if (!sql)
                return log_oom();

        /* The jobs as read take about 2.6 to 3 times their rows' bytes (100 000 jobs: a 40 MB
         * store, 105 MB of heap; a 32 MB one, 100 MB): room for 3 times them, in huge pages,
         * faulted in ahead on another CPU (what the load does not use goes back with the trim
         * after it). */
        bytes = store_get_size(s);
        if (bytes > STORE_HUGE_MAX)
                bytes = STORE_HUGE_MAX;
        heap_huge_begin(&huge, (size_t) bytes * 3, (size_t) bytes * 3);
        /* Everything is read before the first adopt(): the callback may write to the store. */
        r = store_read_all(s, sql, "jobs", store_read_job, &list);
        /* The files follow the jobs in the tables' order: matched before the jobs are sorted. */
        if (r >= 0)
                r = store_load_files(s, &list);
        heap_huge_end(&huge);
        if (r < 0)
                return r;
        store_sort_jobs(&list);

        if (reserve) {
                r = reserve(list.n, userdata);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < list.n; i++) {
                r = adopt(TAKE_PTR(list.jobs[i]), userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void store_release_memory(Store *s) {
        assert(s);

        if (!s->db)
                return;
        (void) sqlite3_db_release_memory(s->db);
        /* From here on pages are read one at a time, through the cache. */
        (void) sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
}
