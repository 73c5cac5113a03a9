/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plain columns of the job, file and pending delete rows: each a field of Job, JobFile or
 * PendingDelete under the same name, saved, listed in the upserts and loaded from one table.
 * The columns that need more than a copy (keys, enums, joined lists, the identity, values
 * checked when loaded) are written out where they are used. */
#include <stdio.h>
#include <string.h>

#include "job-record.h"
#include "store-internal.h"

/* The field's size each kind reads and writes, as a constant expression. */
#define COLUMN_KIND_SIZE(k)                                                             \
        ((k) == STORE_COLUMN_BOOL ? sizeof(bool) :                                      \
         (k) == STORE_COLUMN_U32 ? sizeof(uint32_t) :                                   \
         (k) == STORE_COLUMN_U64 ? sizeof(uint64_t) : sizeof(char *))

/* A field of the wrong size for its kind fails to compile (the struct holding the check has
 * no size that counts: the offset gets 0 × its size). */
#define COLUMN_FIELDS(type, field, k)                                                   \
        .param = ":" #field, .kind = k,                                                 \
        .offset = offsetof(type, field) + 0 * sizeof(struct {                           \
                _Static_assert(sizeof(((type *) 0)->field) == COLUMN_KIND_SIZE(k),      \
                               #type "." #field " does not have its kind's size");      \
                char c;                                                                 \
        })
#define COLUMN(type, field, k) { COLUMN_FIELDS(type, field, k) }

static const StoreColumn job_columns[] = {
        COLUMN(Job, owner, STORE_COLUMN_U32),
        COLUMN(Job, display_name, STORE_COLUMN_TEXT),
        COLUMN(Job, description, STORE_COLUMN_TEXT),
        COLUMN(Job, auto_complete, STORE_COLUMN_BOOL),
        COLUMN(Job, allow_insecure_redirect, STORE_COLUMN_BOOL),
        COLUMN(Job, bandwidth_limit, STORE_COLUMN_U64),
        COLUMN(Job, minimum_retry_delay, STORE_COLUMN_U32),
        COLUMN(Job, no_progress_timeout, STORE_COLUMN_U32),
        /* Set once, when the job is made: written by the insert, left out of the update. */
        { COLUMN_FIELDS(Job, creation_time, STORE_COLUMN_U64), .insert_only = true },
        COLUMN(Job, modification_time, STORE_COLUMN_U64),
        COLUMN(Job, completion_time, STORE_COLUMN_U64),
        COLUMN(Job, last_progress_time, STORE_COLUMN_U64),
        COLUMN(Job, retry_time, STORE_COLUMN_U64),
        COLUMN(Job, retire_time, STORE_COLUMN_U64),
        COLUMN(Job, error_name, STORE_COLUMN_TEXT),
        COLUMN(Job, error_message, STORE_COLUMN_TEXT),
        COLUMN(Job, error_summary, STORE_COLUMN_TEXT),
        COLUMN(Job, error_count, STORE_COLUMN_U32),
        COLUMN(Job, upload_url, STORE_COLUMN_TEXT),
        COLUMN(Job, minimum_notification_interval, STORE_COLUMN_U32),
        COLUMN(Job, cancel_with, STORE_COLUMN_TEXT),
        COLUMN(Job, checksum_list, STORE_COLUMN_TEXT),
        COLUMN(Job, checksum_list_signature, STORE_COLUMN_TEXT),
        COLUMN(Job, proxy, STORE_COLUMN_TEXT),
        COLUMN(Job, bytes_from_cache, STORE_COLUMN_U64),
        COLUMN(Job, bytes_from_origin, STORE_COLUMN_U64),
};

static const StoreColumn file_columns[] = {
        /* The loader hands these to job_file_new() by index; the only NAME columns. */
        [STORE_FILE_NAME_URL] = COLUMN(JobFile, url, STORE_COLUMN_NAME),
        [STORE_FILE_NAME_PATH] = COLUMN(JobFile, path, STORE_COLUMN_NAME),
        [STORE_FILE_NAME_DIR] = COLUMN(JobFile, dir, STORE_COLUMN_NAME),
        [STORE_FILE_NAME_NAME] = COLUMN(JobFile, name, STORE_COLUMN_NAME),
        [STORE_FILE_NAME_TEMP_NAME] = COLUMN(JobFile, temp_name, STORE_COLUMN_NAME),
        COLUMN(JobFile, dir_dev, STORE_COLUMN_U64),
        COLUMN(JobFile, dir_ino, STORE_COLUMN_U64),
        COLUMN(JobFile, temp_exists, STORE_COLUMN_BOOL),
        COLUMN(JobFile, completed, STORE_COLUMN_BOOL),
        COLUMN(JobFile, bytes_total, STORE_COLUMN_U64),
        COLUMN(JobFile, bytes_transferred, STORE_COLUMN_U64),
        COLUMN(JobFile, validator, STORE_COLUMN_TEXT),
        COLUMN(JobFile, url_index, STORE_COLUMN_U32),
        COLUMN(JobFile, checksum, STORE_COLUMN_TEXT),
        COLUMN(JobFile, checksum_source, STORE_COLUMN_U32),
        COLUMN(JobFile, checksum_list, STORE_COLUMN_TEXT),
        COLUMN(JobFile, checksum_list_signature, STORE_COLUMN_TEXT),
        COLUMN(JobFile, checksum_list_key, STORE_COLUMN_TEXT),
        COLUMN(JobFile, verified_by, STORE_COLUMN_U32),
        COLUMN(JobFile, verified_checksum, STORE_COLUMN_TEXT),
};

static const StoreColumn delete_columns[] = {
        COLUMN(PendingDelete, owner, STORE_COLUMN_U32),
        COLUMN(PendingDelete, deadline, STORE_COLUMN_U64),
        COLUMN(PendingDelete, next_try, STORE_COLUMN_U64),
        COLUMN(PendingDelete, attempts, STORE_COLUMN_U32),
};

const StoreColumnTable store_job_columns = { job_columns, ELEMENTSOF(job_columns) };
const StoreColumnTable store_file_columns = { file_columns, ELEMENTSOF(file_columns) };
const StoreColumnTable store_delete_columns = { delete_columns, ELEMENTSOF(delete_columns) };

/* A number field as a 64-bit value, and back. Fields are copied with memcpy(): a uid_t, an
 * unsigned or a dev_t is read as the kind's integer of the same size, never through another
 * type. */
static uint64_t column_get_number(const StoreColumn *c, const char *p) {
        uint64_t v64 = 0;
        uint32_t v32 = 0;
        bool b = false;

        switch (c->kind) {
        case STORE_COLUMN_BOOL:
                memcpy(&b, p, sizeof b);
                return b;
        case STORE_COLUMN_U32:
                memcpy(&v32, p, sizeof v32);
                return v32;
        default:
                memcpy(&v64, p, sizeof v64);
                return v64;
        }
}

static void column_set_number(const StoreColumn *c, char *p, uint64_t v) {
        bool b = v != 0;
        uint32_t v32 = (uint32_t) v;

        switch (c->kind) {
        case STORE_COLUMN_BOOL:
                memcpy(p, &b, sizeof b);
                break;
        case STORE_COLUMN_U32:
                memcpy(p, &v32, sizeof v32);
                break;
        default:
                memcpy(p, &v, sizeof v);
                break;
        }
}

/* Where a table's columns are bound in a statement. sql_bind_*() find a parameter by its name
 * in a cache of (statement, name) pairs, one slot each by their hash, where the 45 columns of a
 * job's row and its file's could take each other's slots (a miss costs SQLite's comparison of
 * the name with each parameter): binding a new job's two rows cost 6 000 to 10 000 instructions
 * by the addresses the statements got. The upserts list a table's columns one after another
 * (store-schema.c), so a statement binds them by index from the first: found once per
 * (statement, table), checked for every column (0: not in that order, bound by name), forgotten
 * when the statement is finalized. Only the thread that uses the store binds and finalizes. */
#define COLUMNS_AT_MAX 8

typedef struct ColumnsAt {
        const sqlite3_stmt *st;
        const StoreColumnTable *t;
        int first;
} ColumnsAt;

static _Thread_local ColumnsAt columns_at[COLUMNS_AT_MAX];
static _Thread_local size_t n_columns_at;

static int columns_first_index(sqlite3_stmt *st, const StoreColumnTable *t) {
        int first;

        for (size_t i = 0; i < n_columns_at; i++)
                if (columns_at[i].st == st && columns_at[i].t == t)
                        return columns_at[i].first;
        first = t->n > 0 ? sqlite3_bind_parameter_index(st, t->columns[0].param) : 0;
        for (size_t i = 1; first > 0 && i < t->n; i++)
                if (sqlite3_bind_parameter_index(st, t->columns[i].param) != first + (int) i)
                        first = 0;
        if (n_columns_at < COLUMNS_AT_MAX)
                columns_at[n_columns_at++] = (ColumnsAt) { .st = st, .t = t, .first = first };
        return first;
}

void store_columns_forget(const sqlite3_stmt *st) {
        for (size_t i = 0; i < n_columns_at;)
                if (columns_at[i].st == st)
                        columns_at[i] = columns_at[--n_columns_at];
                else
                        i++;
}

bool store_columns_known(const sqlite3_stmt *st) {
        for (size_t i = 0; i < n_columns_at; i++)
                if (columns_at[i].st == st)
                        return true;
        return false;
}

void store_columns_bind(sqlite3_stmt *st, const StoreColumnTable *t, const void *record, int *rc) {
        int first;

        assert(st);
        assert(t);
        assert(record);
        assert(rc);

        if (*rc != SQLITE_OK)
                return;
        first = columns_first_index(st, t);
        for (size_t i = 0; i < t->n && *rc == SQLITE_OK; i++) {
                const StoreColumn *c = &t->columns[i];
                const char *p = (const char *) record + c->offset, *text;
                int index = first + (int) i;

                if (c->kind == STORE_COLUMN_TEXT || c->kind == STORE_COLUMN_NAME) {
                        memcpy(&text, p, sizeof text);
                        if (first == 0)
                                sql_bind_text(st, c->param, text, rc);
                        else  /* static, as sql_bind_text() binds it */
                                *rc = text ? sqlite3_bind_text(st, index, text, -1, SQLITE_STATIC)
                                           : sqlite3_bind_null(st, index);
                } else {
                        /* A bool as 0 or 1, a U64 as its bit pattern (sql_bind_uint64()). */
                        int64_t v = (int64_t) column_get_number(c, p);

                        if (first == 0)
                                sql_bind_int64(st, c->param, v, rc);
                        else
                                *rc = sqlite3_bind_int64(st, index, v);
                }
        }
}

int store_columns_read(sqlite3_stmt *st, int first, const StoreColumnTable *t, void *record) {
        assert(st);
        assert(first >= 0);
        assert(t);
        assert(record);

        for (size_t i = 0; i < t->n; i++) {
                const StoreColumn *c = &t->columns[i];
                char *p = (char *) record + c->offset, *text;
                int col = first + (int) i;

                if (c->kind == STORE_COLUMN_NAME)
                        continue;       /* the caller's, for job_file_new() */
                if (c->kind == STORE_COLUMN_TEXT) {
                        if (sql_column_dup(st, col, &text) < 0)
                                return -ENOMEM;
                        memcpy(p, &text, sizeof text);
                } else
                        column_set_number(c, p, (uint64_t) sqlite3_column_int64(st, col));
        }
        return 0;
}

void store_put_name(FILE *f, const char *name, StoreNameForm form, bool *first) {
        assert(f);
        assert(name);
        assert(first);

        if (!*first)
                fputs(", ", f);
        *first = false;
        switch (form) {
        case STORE_NAME_PLAIN:
                fputs(name, f);
                break;
        case STORE_NAME_PARAMETER:
                fprintf(f, ":%s", name);
                break;
        case STORE_NAME_FROM_EXCLUDED:
                fprintf(f, "%s = excluded.%s", name, name);
                break;
        }
}

void store_columns_put_names(FILE *f, const StoreColumnTable *t, StoreNameForm form, bool *first) {
        assert(f);
        assert(t);
        assert(first);

        for (size_t i = 0; i < t->n; i++)
                /* The update sets only what may change. */
                if (form != STORE_NAME_FROM_EXCLUDED || !t->columns[i].insert_only)
                        store_put_name(f, t->columns[i].param + 1, form, first);
}

char *store_columns_select(const char *head, const StoreColumnTable *t, const char *tail) {
        _cleanup_free_ char *sql = NULL;
        size_t size = 0;
        bool first = false;
        FILE *f;

        assert(head);
        assert(t);
        assert(tail);

        f = open_memstream(&sql, &size);
        if (!f)
                return NULL;
        fputs(head, f);
        store_columns_put_names(f, t, STORE_NAME_PLAIN, &first);
        fputc(' ', f);
        fputs(tail, f);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(sql);
}
