/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job rows and their file rows: saving and deleting (loading: store-load.c). */
#include "job.h"
#include "job-record.h"
#include "log.h"
#include "store-internal.h"

int store_save_job_row(Store *s, const Job *j) {
        _cleanup_free_ char *headers = NULL, *groups = NULL;
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        assert(s);
        assert(j);
        assert(j->store_key > 0);   /* rows are found by it: 0 would reach another job's */

        r = store_check_usable(s);
        if (r < 0)
                return r;
        r = store_join_list(s, j->http_headers, "headers of job", j->id, &headers);
        if (r < 0)
                return r;
        if (j->identity_from_caller && sql_join_gids(j->identity.groups, j->identity.n_groups, &groups) < 0)
                return store_doom(s, log_oom());

        st = s->save_job;
        sql_bind_int64(st, ":seq", j->store_key, &rc);
        sql_bind_text(st, ":id", j->id, &rc);
        sql_bind_text(st, ":type", job_type_to_string(j->type), &rc);
        sql_bind_text(st, ":state", job_state_to_string(j->state), &rc);
        sql_bind_text(st, ":priority", job_priority_to_string(j->priority), &rc);
        sql_bind_text(st, ":http_headers", headers, &rc);
        sql_bind_text(st, ":cost_policy", cost_policy_to_string(j->cost_policy), &rc);
        /* NULL: from the user database when the job is loaded. */
        if (j->identity_from_caller)
                sql_bind_int64(st, ":fs_gid", (int64_t) j->identity.gid, &rc);
        else
                sql_bind_text(st, ":fs_gid", NULL, &rc);
        sql_bind_text(st, ":fs_groups", groups, &rc);
        sql_bind_int64(st, ":max_concurrent_files", j->max_concurrent_files, &rc);
        store_columns_bind(st, &store_job_columns, j, &rc);
        return store_run(s, st, rc, "save job", j->id);
}

int store_save_job_counters(Store *s, const Job *j) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK;

        assert(s);
        assert(j);
        assert(j->store_key > 0);

        /* store_run() refuses it in a doomed transaction. */
        st = s->save_counters;
        sql_bind_int64(st, ":seq", j->store_key, &rc);
        sql_bind_uint64(st, ":bytes_from_cache", j->bytes_from_cache, &rc);
        sql_bind_uint64(st, ":bytes_from_origin", j->bytes_from_origin, &rc);
        return store_run(s, st, rc, "save the counters of job", j->id);
}

static int store_save_file_row(Store *s, const Job *j, size_t index) {
        const JobFile *f = j->files[index];
        _cleanup_free_ char *mirrors = NULL;
        sqlite3_stmt *st = s->save_file;
        int rc = SQLITE_OK, r;

        r = store_join_list(s, f->mirrors, "mirrors of job", j->id, &mirrors);
        if (r < 0)
                return r;

        sql_bind_int64(st, ":job_seq", j->store_key, &rc);
        sql_bind_int64(st, ":idx", (int64_t) index, &rc);
        sql_bind_bool(st, ":committed", f->committed, &rc);
        sql_bind_text(st, ":mirrors", mirrors, &rc);
        if (f->expect_size)
                sql_bind_uint64(st, ":expected_size", f->expected_size, &rc);
        store_columns_bind(st, &store_file_columns, f, &rc);
        return store_run(s, st, rc, "save a file of job", j->id);
}

int store_save_file(Store *s, const Job *j, size_t index) {
        assert(s);
        assert(j);
        assert(j->store_key > 0);

        if (index >= j->n_files)
                return -EINVAL;
        return store_save_file_row(s, j, index);
}

static int store_write_job(Store *s, const Job *j, bool trim) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r, k;

        /* One transaction: one sync point for hundreds of files, and all or nothing. */
        r = store_begin(s);
        if (r < 0)
                return r;

        r = store_save_job_row(s, j);
        for (size_t i = 0; r >= 0 && i < j->n_files; i++)
                r = store_save_file_row(s, j, i);
        if (r >= 0 && trim) {
                /* Rows past the end would come back as files the job no longer has. */
                st = s->trim_files;
                sql_bind_int64(st, ":job_seq", j->store_key, &rc);
                sql_bind_int64(st, ":n", (int64_t) j->n_files, &rc);
                r = store_run(s, st, rc, "trim the files of job", j->id);
        }

        k = store_end(s);
        return r < 0 ? r : k;
}

int store_save_job(Store *s, const Job *j) {
        assert(s);
        assert(j);
        assert(j->store_key > 0);

        return store_write_job(s, j, true);
}

int store_insert_job(Store *s, const Job *j) {
        assert(s);
        assert(j);
        assert(j->store_key > 0);

        /* Nothing of it to trim: that DELETE cost more than the job's two inserts. */
        return store_write_job(s, j, false);
}

int store_delete_job(Store *s, const Job *j) {
        int rc = SQLITE_OK;

        assert(s);
        assert(j);
        assert(j->store_key > 0);

        /* The files go with it: ON DELETE CASCADE. */
        sql_bind_int64(s->delete_job, ":seq", j->store_key, &rc);
        return store_run(s, s->delete_job, rc, "delete job", j->id);
}
