/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job rows and their file rows: saving, deleting, loading every job at start-up. */
#include "job.h"
#include "job-record.h"
#include "log.h"
#include "hashmap.h"
#include "store-internal.h"

int store_save_job_row(Store *s, const Job *j) {
        _cleanup_free_ char *headers = NULL, *groups = NULL, *gid = NULL;
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        assert(s);
        assert(j);

        r = store_check_usable(s);
        if (r < 0)
                return r;
        r = sql_join_headers(j->http_headers, &headers);
        if (r < 0)
                return store_doom(s, log_error_errno(r, "Store %s: cannot save the headers of job %s",
                                                     s->path, j->id));
        if (j->identity_from_caller &&
            (sql_join_gids(j->identity.groups, j->identity.n_groups, &groups) < 0 ||
             asprintf(&gid, "%u", (unsigned) j->identity.gid) < 0))
                return store_doom(s, log_oom());

        st = s->save_job;
        sql_bind_text(st, ":id", j->id, &rc);
        sql_bind_text(st, ":type", job_type_to_string(j->type), &rc);
        sql_bind_int64(st, ":owner", (int64_t) j->owner, &rc);
        sql_bind_text(st, ":display_name", j->display_name, &rc);
        sql_bind_text(st, ":description", j->description, &rc);
        sql_bind_text(st, ":state", job_state_to_string(j->state), &rc);
        sql_bind_text(st, ":priority", job_priority_to_string(j->priority), &rc);
        sql_bind_bool(st, ":auto_complete", j->auto_complete, &rc);
        sql_bind_bool(st, ":allow_insecure_redirect", j->allow_insecure_redirect, &rc);
        sql_bind_uint64(st, ":bandwidth_limit", j->bandwidth_limit, &rc);
        sql_bind_int64(st, ":minimum_retry_delay", j->minimum_retry_delay, &rc);
        sql_bind_int64(st, ":no_progress_timeout", j->no_progress_timeout, &rc);
        sql_bind_text(st, ":http_headers", headers, &rc);
        sql_bind_uint64(st, ":creation_time", j->creation_time, &rc);
        sql_bind_uint64(st, ":modification_time", j->modification_time, &rc);
        sql_bind_uint64(st, ":completion_time", j->completion_time, &rc);
        sql_bind_uint64(st, ":last_progress_time", j->last_progress_time, &rc);
        sql_bind_uint64(st, ":retry_time", j->retry_time, &rc);
        sql_bind_uint64(st, ":retire_time", j->retire_time, &rc);
        sql_bind_text(st, ":error_name", j->error_name, &rc);
        sql_bind_text(st, ":error_message", j->error_message, &rc);
        sql_bind_text(st, ":error_summary", j->error_summary, &rc);
        sql_bind_int64(st, ":error_count", j->error_count, &rc);
        sql_bind_text(st, ":upload_url", j->upload_url, &rc);
        sql_bind_int64(st, ":minimum_notification_interval", j->minimum_notification_interval, &rc);
        sql_bind_text(st, ":cancel_with", j->cancel_with, &rc);
        sql_bind_text(st, ":checksum_list", j->checksum_list, &rc);
        sql_bind_text(st, ":checksum_list_signature", j->checksum_list_signature, &rc);
        sql_bind_text(st, ":cost_policy", cost_policy_to_string(j->cost_policy), &rc);
        sql_bind_text(st, ":proxy", j->proxy, &rc);
        sql_bind_uint64(st, ":bytes_from_cache", j->bytes_from_cache, &rc);
        sql_bind_uint64(st, ":bytes_from_origin", j->bytes_from_origin, &rc);
        /* NULL: from the user database when the job is loaded. */
        sql_bind_text(st, ":fs_gid", gid, &rc);
        sql_bind_text(st, ":fs_groups", groups, &rc);
        sql_bind_int64(st, ":max_concurrent_files", j->max_concurrent_files, &rc);
        return store_run(s, st, rc, "save job", j->id);
}

static int store_save_file_row(Store *s, const Job *j, size_t index) {
        const JobFile *f = j->files[index];
        _cleanup_free_ char *mirrors = NULL;
        sqlite3_stmt *st = s->save_file;
        int rc = SQLITE_OK, r;

        r = sql_join_headers(f->mirrors, &mirrors);
        if (r < 0)
                return store_doom(s, log_error_errno(r, "Store %s: cannot save the mirrors of job %s",
                                                     s->path, j->id));

        sql_bind_text(st, ":job_id", j->id, &rc);
        sql_bind_int64(st, ":idx", (int64_t) index, &rc);
        sql_bind_text(st, ":url", f->url, &rc);
        sql_bind_text(st, ":path", f->path, &rc);
        sql_bind_text(st, ":dir", f->dir, &rc);
        sql_bind_text(st, ":name", f->name, &rc);
        sql_bind_text(st, ":temp_name", f->temp_name, &rc);
        sql_bind_uint64(st, ":dir_dev", (uint64_t) f->dir_dev, &rc);
        sql_bind_uint64(st, ":dir_ino", (uint64_t) f->dir_ino, &rc);
        sql_bind_bool(st, ":temp_exists", f->temp_exists, &rc);
        sql_bind_bool(st, ":completed", f->completed, &rc);
        sql_bind_bool(st, ":committed", f->committed, &rc);
        sql_bind_uint64(st, ":bytes_total", f->bytes_total, &rc);
        sql_bind_uint64(st, ":bytes_transferred", f->bytes_transferred, &rc);
        sql_bind_text(st, ":validator", f->validator, &rc);
        sql_bind_text(st, ":mirrors", mirrors, &rc);
        sql_bind_int64(st, ":url_index", f->url_index, &rc);
        if (f->expect_size)
                sql_bind_uint64(st, ":expected_size", f->expected_size, &rc);
        sql_bind_text(st, ":checksum", f->checksum, &rc);
        sql_bind_int64(st, ":checksum_source", f->checksum_source, &rc);
        sql_bind_text(st, ":checksum_list", f->checksum_list, &rc);
        sql_bind_text(st, ":checksum_list_signature", f->checksum_list_signature, &rc);
        sql_bind_text(st, ":checksum_list_key", f->checksum_list_key, &rc);
        sql_bind_int64(st, ":verified_by", f->verified_by, &rc);
        sql_bind_text(st, ":verified_checksum", f->verified_checksum, &rc);
        return store_run(s, st, rc, "save a file of job", j->id);
}

int store_save_file(Store *s, const Job *j, size_t index) {
        assert(s);
        assert(j);

        if (index >= j->n_files)
                return -EINVAL;
        return store_save_file_row(s, j, index);
}

int store_save_job(Store *s, const Job *j) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r, k;

        assert(s);
        assert(j);

        /* One transaction: one sync point for hundreds of files, and all or nothing. */
        r = store_begin(s);
        if (r < 0)
                return r;

        r = store_save_job_row(s, j);
        for (size_t i = 0; r >= 0 && i < j->n_files; i++)
                r = store_save_file_row(s, j, i);
        if (r >= 0) {
                /* Rows past the end would come back as files the job no longer has. */
                st = s->trim_files;
                sql_bind_text(st, ":job_id", j->id, &rc);
                sql_bind_int64(st, ":n", (int64_t) j->n_files, &rc);
                r = store_run(s, st, rc, "trim the files of job", j->id);
        }

        k = store_end(s);
        return r < 0 ? r : k;
}

int store_delete_job(Store *s, const char *id) {
        assert(s);
        assert(id);

        /* The files go with it: ON DELETE CASCADE. */
        return store_run_keyed(s, s->delete_job, ":id", id, "delete job");
}

/* ---- loading ---------------------------------------------------------------------------- */

static void store_job_file_freep(JobFile **f) {
        job_file_free(*f);
}

static void store_job_freep(Job **j) {
        job_record_free(*j);
}

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
        JC_FS_GID, JC_FS_GROUPS, JC_MAX_CONCURRENT_FILES,
};

enum {
        FC_URL, FC_PATH, FC_DIR, FC_NAME, FC_TEMP_NAME, FC_DIR_DEV, FC_DIR_INO, FC_TEMP_EXISTS,
        FC_COMPLETED, FC_COMMITTED, FC_BYTES_TOTAL, FC_BYTES_TRANSFERRED, FC_VALIDATOR, FC_MIRRORS,
        FC_URL_INDEX, FC_EXPECTED_SIZE, FC_CHECKSUM, FC_CHECKSUM_SOURCE, FC_CHECKSUM_LIST,
        FC_CHECKSUM_LIST_SIGNATURE, FC_CHECKSUM_LIST_KEY, FC_VERIFIED_BY, FC_VERIFIED_CHECKSUM, FC_JOB_ID,
};

/* One row of the files of every job (read in one pass, not a query per job), to its job. */
static int store_read_file(Store *s, sqlite3_stmt *files, void *userdata) {
        _cleanup_(store_job_file_freep) JobFile *f = NULL;
        _cleanup_free_ char *mirrors = NULL;
        const char *id = (const char *) sqlite3_column_text(files, FC_JOB_ID);
        Job *j = id ? hashmap_get(userdata, id) : NULL;

        /* A file of a job that was skipped as unreadable. */
        if (!j)
                return 0;

        f = calloc(1, sizeof(JobFile));
        if (!f ||
            sql_column_dup(files, FC_URL, &f->url) < 0 || sql_column_dup(files, FC_PATH, &f->path) < 0 ||
            sql_column_dup(files, FC_DIR, &f->dir) < 0 || sql_column_dup(files, FC_NAME, &f->name) < 0 ||
            sql_column_dup(files, FC_TEMP_NAME, &f->temp_name) < 0 ||
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

        if (array_reserve((void **) &j->files, &j->n_files_allocated, j->n_files + 1, sizeof(JobFile *)) < 0)
                return log_oom();
        j->files[j->n_files++] = TAKE_PTR(f);
        return 0;
}

/* Every job's files, then its first file still to transfer (all done is n_files). */
static int store_load_files(Store *s, JobList *list) {
        _cleanup_(hashmap_freep) Hashmap *by_id = NULL;
        int r;

        by_id = hashmap_new();
        if (!by_id)
                return log_oom();
        for (size_t i = 0; i < list->n; i++)
                if (hashmap_put(by_id, list->jobs[i]->id, list->jobs[i]) == -ENOMEM)
                        return log_oom();
        r = store_read_all(s,
                           "SELECT url, path, dir, name, temp_name, dir_dev, dir_ino, temp_exists,"
                           "  completed, committed, bytes_total, bytes_transferred, validator,"
                           "  mirrors, url_index, expected_size, checksum, checksum_source,"
                           "  checksum_list, checksum_list_signature, checksum_list_key,"
                           "  verified_by, verified_checksum, job_id "
                           "FROM files ORDER BY job_id, idx",
                           "files", store_read_file, by_id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < list->n; i++) {
                Job *j = list->jobs[i];
                while (j->current < j->n_files && j->files[j->current]->completed)
                        j->current++;
                /* Room for its files only, not for the 16 of a growing array: most jobs have
                 * one, and a restart may load 100 000 jobs. */
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

typedef struct JobReader {
        JobList list;
} JobReader;

static int store_read_job(Store *s, sqlite3_stmt *st, void *userdata) {
        JobReader *reader = userdata;
        JobList *list = &reader->list;
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

int store_load_jobs(Store *s, int (*adopt)(Job *j, void *userdata), void *userdata) {
        _cleanup_(store_job_list_done) JobList list = { .jobs = NULL };
        int r;

        assert(s);
        assert(adopt);

        r = store_check_usable(s);
        if (r < 0)
                return r;

        /* Everything is read before the first adopt(): the callback may write to the store. */
        {
                JobReader reader = { .list = { .jobs = NULL } };

                r = store_read_all(s,
                                   "SELECT id, type, owner, display_name, description, state, priority,"
                                   "  auto_complete, allow_insecure_redirect, bandwidth_limit,"
                                   "  minimum_retry_delay, no_progress_timeout, http_headers, creation_time,"
                                   "  modification_time, completion_time, last_progress_time, retry_time,"
                                   "  retire_time, error_name, error_message, error_summary, error_count,"
                                   "  upload_url, minimum_notification_interval, cancel_with, checksum_list,"
                                   "  checksum_list_signature, cost_policy, proxy, bytes_from_cache, bytes_from_origin,"
                                   "  fs_gid, fs_groups, max_concurrent_files "
                                   "FROM jobs ORDER BY creation_time, seq",
                                   "jobs", store_read_job, &reader);
                list = reader.list;
                if (r < 0)
                        return r;
        }
        r = store_load_files(s, &list);
        if (r < 0)
                return r;

        for (size_t i = 0; i < list.n; i++) {
                r = adopt(TAKE_PTR(list.jobs[i]), userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
