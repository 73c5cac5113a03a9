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

/* Column order of the SELECTs below. */
enum {
        JC_ID, JC_TYPE, JC_OWNER, JC_DISPLAY_NAME, JC_DESCRIPTION, JC_STATE, JC_PRIORITY,
        JC_AUTO_COMPLETE, JC_ALLOW_INSECURE_REDIRECT, JC_BANDWIDTH_LIMIT, JC_MINIMUM_RETRY_DELAY,
        JC_NO_PROGRESS_TIMEOUT, JC_HTTP_HEADERS, JC_CREATION_TIME, JC_MODIFICATION_TIME,
        JC_COMPLETION_TIME, JC_LAST_PROGRESS_TIME, JC_RETRY_TIME, JC_RETIRE_TIME, JC_ERROR_NAME,
        JC_ERROR_MESSAGE, JC_ERROR_SUMMARY, JC_ERROR_COUNT, JC_UPLOAD_URL, JC_MINIMUM_NOTIFICATION_INTERVAL,
        JC_CANCEL_WITH, JC_CHECKSUM_LIST, JC_CHECKSUM_LIST_SIGNATURE, JC_COST_POLICY, JC_PROXY,
        JC_BYTES_FROM_CACHE, JC_BYTES_FROM_ORIGIN,
        JC_FS_GID, JC_FS_GROUPS, JC_MAX_CONCURRENT_FILES, JC_SEQ,
};

#define JOB_COLUMNS                                                                                     \
        "SELECT id, type, owner, display_name, description, state, priority,"                        \
        "  auto_complete, allow_insecure_redirect, bandwidth_limit,"                                 \
        "  minimum_retry_delay, no_progress_timeout, http_headers, creation_time,"                   \
        "  modification_time, completion_time, last_progress_time, retry_time,"                      \
        "  retire_time, error_name, error_message, error_summary, error_count,"                      \
        "  upload_url, minimum_notification_interval, cancel_with, checksum_list,"                   \
        "  checksum_list_signature, cost_policy, proxy, bytes_from_cache, bytes_from_origin,"        \
        "  fs_gid, fs_groups, max_concurrent_files, seq "

enum {
        FC_URL, FC_PATH, FC_DIR, FC_NAME, FC_TEMP_NAME, FC_DIR_DEV, FC_DIR_INO, FC_TEMP_EXISTS,
        FC_COMPLETED, FC_COMMITTED, FC_BYTES_TOTAL, FC_BYTES_TRANSFERRED, FC_VALIDATOR, FC_MIRRORS,
        FC_URL_INDEX, FC_EXPECTED_SIZE, FC_CHECKSUM, FC_CHECKSUM_SOURCE, FC_CHECKSUM_LIST,
        FC_CHECKSUM_LIST_SIGNATURE, FC_CHECKSUM_LIST_KEY, FC_VERIFIED_BY, FC_VERIFIED_CHECKSUM, FC_JOB_SEQ,
        FC_IDX,
};

#define FILE_COLUMNS                                                                                    \
        "SELECT url, path, dir, name, temp_name, dir_dev, dir_ino, temp_exists,"                     \
        "  completed, committed, bytes_total, bytes_transferred, validator,"                         \
        "  mirrors, url_index, expected_size, checksum, checksum_source,"                            \
        "  checksum_list, checksum_list_signature, checksum_list_key,"                               \
        "  verified_by, verified_checksum, job_seq, idx "

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

        const char *names[5];
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                /* The columns in the order of job_file_new()'s arguments; none is NULL. */
                names[i] = (const char *) sqlite3_column_text(files, FC_URL + (int) i);
                if (!names[i])
                        return log_oom();
        }
        f = job_file_new(names[0], names[1], names[2], names[3], names[4]);
        if (!f ||
            sql_column_dup(files, FC_VALIDATOR, &f->validator) < 0 ||
            sql_column_dup(files, FC_MIRRORS, &mirrors) < 0 ||
            (mirrors && sql_split_headers(mirrors, &f->mirrors) < 0) ||
            sql_column_dup(files, FC_CHECKSUM, &f->checksum) < 0 ||
            sql_column_dup(files, FC_CHECKSUM_LIST, &f->checksum_list) < 0 ||
            sql_column_dup(files, FC_CHECKSUM_LIST_SIGNATURE, &f->checksum_list_signature) < 0 ||
            sql_column_dup(files, FC_CHECKSUM_LIST_KEY, &f->checksum_list_key) < 0 ||
            sql_column_dup(files, FC_VERIFIED_CHECKSUM, &f->verified_checksum) < 0)
                return log_oom();
        f->url_index = (unsigned) sqlite3_column_int64(files, FC_URL_INDEX);
        if (f->url_index > strv_length(f->mirrors))
                f->url_index = 0;  /* a damaged row: start from the file's own URL */
        f->expect_size = sqlite3_column_type(files, FC_EXPECTED_SIZE) != SQLITE_NULL;
        f->expected_size = (uint64_t) sqlite3_column_int64(files, FC_EXPECTED_SIZE);
        f->checksum_source = (unsigned) sqlite3_column_int64(files, FC_CHECKSUM_SOURCE);
        f->verified_by = (unsigned) sqlite3_column_int64(files, FC_VERIFIED_BY);
        f->dir_dev = (dev_t) sqlite3_column_int64(files, FC_DIR_DEV);
        f->dir_ino = (ino_t) sqlite3_column_int64(files, FC_DIR_INO);
        f->temp_exists = sqlite3_column_int64(files, FC_TEMP_EXISTS) != 0;
        f->completed = sqlite3_column_int64(files, FC_COMPLETED) != 0;
        f->committed = sqlite3_column_int64(files, FC_COMMITTED) != 0;
        f->bytes_total = (uint64_t) sqlite3_column_int64(files, FC_BYTES_TOTAL);
        f->bytes_transferred = (uint64_t) sqlite3_column_int64(files, FC_BYTES_TRANSFERRED);

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

/* Every job's files, then its first file still to transfer (all done is n_files). */
static int store_load_files(Store *s, JobList *list) {
        FileReader fr = { .list = list, .ordered = true };
        int r;

        /* The table's own order is the order the rows were written in: a job's files after it,
         * by idx. */
        r = store_read_all(s, FILE_COLUMNS "FROM files", "files", store_read_file, &fr);
        if (r >= 0 && !fr.ordered) {
                /* Rarely (files added to an older job, a damaged store): by the key's index, as a
                 * job's files must come; a gap in a job's idx closes up. */
                store_forget_files(list);
                fr = (FileReader) { .list = list, .ordered = true };
                r = store_read_all(s, FILE_COLUMNS "FROM files ORDER BY job_seq, idx", "files", store_read_file,
                                   &fr);
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
        j->store_key = sqlite3_column_int64(st, JC_SEQ);
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
        j->minimum_notification_interval = (uint32_t) sqlite3_column_int64(st, JC_MINIMUM_NOTIFICATION_INTERVAL);
        /* NULL (a job from before cost policies) or unreadable: the manager picks the default. */
        j->cost_policy = cost_policy_from_string((const char *) sqlite3_column_text(st, JC_COST_POLICY));
        j->bytes_from_cache = (uint64_t) sqlite3_column_int64(st, JC_BYTES_FROM_CACHE);
        j->bytes_from_origin = (uint64_t) sqlite3_column_int64(st, JC_BYTES_FROM_ORIGIN);
        /* A damaged value is taken as the default rather than as a limit nobody chose. */
        int64_t mcf = sqlite3_column_int64(st, JC_MAX_CONCURRENT_FILES);
        j->max_concurrent_files = mcf >= 1 && mcf <= JOB_MAX_CONCURRENT_FILES ? (uint32_t) mcf : 1;
        if (sql_column_dup(st, JC_DISPLAY_NAME, &j->display_name) < 0 ||
            sql_column_dup(st, JC_DESCRIPTION, &j->description) < 0 ||
            sql_column_dup(st, JC_ERROR_NAME, &j->error_name) < 0 ||
            sql_column_dup(st, JC_ERROR_MESSAGE, &j->error_message) < 0 ||
            sql_column_dup(st, JC_ERROR_SUMMARY, &j->error_summary) < 0 ||
            sql_column_dup(st, JC_UPLOAD_URL, &j->upload_url) < 0 ||
            sql_column_dup(st, JC_CANCEL_WITH, &j->cancel_with) < 0 ||
            sql_column_dup(st, JC_CHECKSUM_LIST, &j->checksum_list) < 0 ||
            sql_column_dup(st, JC_CHECKSUM_LIST_SIGNATURE, &j->checksum_list_signature) < 0 ||
            sql_column_dup(st, JC_PROXY, &j->proxy) < 0 ||
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
        HeapHuge huge;
        uint64_t bytes;
        int r;

        assert(s);
        assert(adopt);

        r = store_check_usable(s);
        if (r < 0)
                return r;

        /* The jobs as read take about 2.6 times their rows' bytes (100 000 jobs: a 40 MB store,
         * 105 MB of heap): room for 3 times them, in huge pages. */
        bytes = store_get_size(s);
        heap_huge_begin(&huge, (size_t) (bytes < STORE_HUGE_MAX ? bytes : STORE_HUGE_MAX) * 3);
        /* Everything is read before the first adopt(): the callback may write to the store. */
        r = store_read_all(s, JOB_COLUMNS "FROM jobs ORDER BY seq", "jobs", store_read_job, &list);
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

        if (s->db)
                (void) sqlite3_db_release_memory(s->db);
}
