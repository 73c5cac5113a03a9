/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tables of every schema version, the migration between them, and the statements
 * prepared once on them. */
#include <stddef.h>
#include <stdio.h>

#include "log.h"
#include "store-internal.h"

/* Each schema version as the step from the one before; a later schema appends a step and
 * never edits an old one. */
static const char *const store_schema_steps[STORE_SCHEMA_VERSION] = {
        /* Jobs, their files, and temporary files still to remove. */
        [0] =
                "CREATE TABLE jobs ("
                "  id TEXT PRIMARY KEY NOT NULL,"
                "  seq INTEGER NOT NULL UNIQUE,"        /* insertion order, never reused */
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
                "  http_headers TEXT,"                  /* newline-joined; secrets */
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
                "  PRIMARY KEY (job_id, idx)"           /* also serves the cascade and the load */
                ");"
                "CREATE TABLE pending_unlinks ("
                "  owner INTEGER NOT NULL,"
                "  dir TEXT NOT NULL,"
                "  dev INTEGER NOT NULL,"
                "  ino INTEGER NOT NULL,"
                "  name TEXT NOT NULL,"
                "  PRIMARY KEY (dir, name)"
                ");",
        /* Uploads (tus): the upload resource of a job, and termination requests still to deliver.
         * Existing jobs get NULL: none of them has created an upload yet. */
        [1] =
                "ALTER TABLE jobs ADD COLUMN upload_url TEXT;"
                "CREATE TABLE pending_deletes ("
                "  url TEXT PRIMARY KEY NOT NULL,"
                "  owner INTEGER NOT NULL,"
                "  headers TEXT,"                       /* as jobs.http_headers; secrets */
                "  deadline INTEGER NOT NULL,"
                "  next_try INTEGER NOT NULL,"
                "  attempts INTEGER NOT NULL"
                ");",
        /* MinimumNotificationInterval: stored jobs get the default, 500 ms. */
        [2] =
                "ALTER TABLE jobs ADD COLUMN minimum_notification_interval INTEGER NOT NULL DEFAULT 500;",
        /* CancelWhenOwnerGone: the client a job is bound to. Existing jobs get NULL: unbound. */
        [3] =
                "ALTER TABLE jobs ADD COLUMN cancel_with TEXT;",
        /* Verified downloads: what is expected of a file's bytes (digest, size, mirrors, a signed
         * checksum list) and the stored verdict, so that a restart between the check and Complete
         * does not lose it. Existing files get NULL and 0: nothing expected, nothing verified. */
        [4] =
                "ALTER TABLE jobs ADD COLUMN checksum_list TEXT;"
                "ALTER TABLE jobs ADD COLUMN checksum_list_signature TEXT;"
                "ALTER TABLE files ADD COLUMN mirrors TEXT;"              /* newline-joined */
                "ALTER TABLE files ADD COLUMN url_index INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE files ADD COLUMN expected_size INTEGER;"     /* NULL: none */
                "ALTER TABLE files ADD COLUMN checksum TEXT;"
                "ALTER TABLE files ADD COLUMN checksum_source INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE files ADD COLUMN checksum_list TEXT;"
                "ALTER TABLE files ADD COLUMN checksum_list_signature TEXT;"
                "ALTER TABLE files ADD COLUMN checksum_list_key TEXT;"
                "ALTER TABLE files ADD COLUMN verified_by INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE files ADD COLUMN verified_checksum TEXT;",
        /* Cost policies (always, unmetered). Existing jobs get NULL: the default for their priority,
         * decided when the daemon loads them. */
        [5] =
                "ALTER TABLE jobs ADD COLUMN cost_policy TEXT;",
        /* Fleets: a job's own proxy (its credentials are secrets, as the headers are) and where its
         * bytes came from. Existing jobs use the daemon's proxy and have counted nothing. */
        [6] =
                "ALTER TABLE jobs ADD COLUMN proxy TEXT;"
                "ALTER TABLE jobs ADD COLUMN bytes_from_cache INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE jobs ADD COLUMN bytes_from_origin INTEGER NOT NULL DEFAULT 0;",
        /* The file identity of a job as its creating caller's connection had it (the group of new
         * files and every group, space-separated). NULL for the jobs stored before, and whenever the
         * bus did not say: the user database then, as before. */
        [7] =
                "ALTER TABLE jobs ADD COLUMN fs_gid INTEGER;"
                "ALTER TABLE jobs ADD COLUMN fs_groups TEXT;",
        /* MaxConcurrentFiles: stored jobs get the default, one file after another. */
        [8] =
                "ALTER TABLE jobs ADD COLUMN max_concurrent_files INTEGER NOT NULL DEFAULT 1;",
        /* Rows keyed by insertion order (after the copies of schema_key_by_seq() below): the
         * old tables go, the copies take their names. */
        [9] =
                "DROP TABLE files;"
                "DROP TABLE jobs;"
                "ALTER TABLE jobs_by_seq RENAME TO jobs;"
                "ALTER TABLE files_by_seq RENAME TO files;"
                "CREATE INDEX jobs_by_age ON jobs (creation_time, seq);",
        /* No query reads jobs by age (the load reads them by seq, in insertion order): the index
         * cost every new job an insert, and every commit of new jobs a page of the log. */
        [10] =
                "DROP INDEX jobs_by_age;",
};

/* A copy of `table` named `copy` with the key `key` (its definition, first) and the table
 * constraint `tail`: every other column as the table has it (type, NOT NULL, default), but
 * without `old_key` and without being part of a key. Filled from `source` (the table, or a
 * join: `prefix` names the table's columns in it), where `key_value` gives the new key. */
typedef struct Rekey {
        const char *table, *copy, *key, *old_key, *tail, *source, *prefix, *key_value;
} Rekey;

static int schema_rekey(sqlite3 *db, const Rekey *k) {
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *create = NULL, *insert = NULL;
        size_t create_size = 0, insert_size = 0;
        FILE *c, *i;
        int rc;

        rc = sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?)", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = sqlite3_bind_text(st, 1, k->table, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return rc;
        c = open_memstream(&create, &create_size);
        if (!c)
                return SQLITE_NOMEM;
        i = open_memstream(&insert, &insert_size);
        if (!i) {
                fclose(c);
                return SQLITE_NOMEM;
        }
        fprintf(c, "CREATE TABLE %s (%s", k->copy, k->key);
        fprintf(i, "INSERT INTO %s SELECT %s", k->copy, k->key_value);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *name = (const char *) sqlite3_column_text(st, 0);
                const char *type = (const char *) sqlite3_column_text(st, 1);
                const char *dflt = (const char *) sqlite3_column_text(st, 3);

                if (!name || !type || streq(name, k->old_key))
                        continue;
                fprintf(c, ", %s %s%s%s%s", name, type, sqlite3_column_int(st, 2) ? " NOT NULL" : "",
                        dflt ? " DEFAULT " : "", strempty(dflt));
                fprintf(i, ", %s%s", k->prefix, name);
        }
        fprintf(c, "%s;", k->tail);
        fprintf(i, " FROM %s;", k->source);
        /* Both streams are closed whatever the first says. */
        int c_failed = fclose(c) != 0, i_failed = fclose(i) != 0;

        if (c_failed || i_failed)
                return SQLITE_NOMEM;
        if (rc != SQLITE_DONE)
                return rc;
        rc = sqlite3_exec(db, create, NULL, NULL, NULL);
        return rc != SQLITE_OK ? rc : sqlite3_exec(db, insert, NULL, NULL, NULL);
}

/* Version 10: the rows keyed by insertion order, so that a new job's rows and their keys are
 * appended at the end of each tree, where a random id dirtied a page of its own in two
 * indexes (the job's and its files') on every insert. The id stays a plain column: it is read
 * at load, and the daemon finds a job's rows by the key it keeps in memory. SQLite cannot
 * change a primary key: the tables are copied, and the copies made before the old tables go,
 * so that no cascade reaches the copied files. */
static int schema_key_by_seq(sqlite3 *db) {
        static const Rekey jobs = {
                .table = "jobs", .copy = "jobs_by_seq",
                .key = "seq INTEGER PRIMARY KEY NOT NULL", .old_key = "seq", .tail = ")",
                .source = "jobs ORDER BY seq", .prefix = "", .key_value = "seq",
        };
        static const Rekey files = {
                .table = "files", .copy = "files_by_seq",
                .key = "job_seq INTEGER NOT NULL REFERENCES jobs_by_seq (seq) ON DELETE CASCADE",
                .old_key = "job_id",
                /* Not WITHOUT ROWID: an append to a tree of whole rows rebalanced its last pages
                 * at every split (5 % of a Download's CPU); rows by rowid are appended cheaply,
                 * and the key's index holds small entries. */
                .tail = ", PRIMARY KEY (job_seq, idx))",
                .source = "files AS f JOIN jobs AS j ON j.id = f.job_id ORDER BY j.seq, f.idx",
                .prefix = "f.", .key_value = "j.seq",
        };
        int rc = schema_rekey(db, &jobs);

        return rc != SQLITE_OK ? rc : schema_rekey(db, &files);
}

/* What a step needs that SQL alone cannot say, run before its SQL. */
static int (*const store_schema_code[STORE_SCHEMA_VERSION])(sqlite3 *db) = {
        [9] = schema_key_by_seq,
};

static int store_schema_steps_from(Store *s, int from) {
        char sql[64];
        int rc;

        for (int v = from; v < STORE_SCHEMA_VERSION; v++) {
                rc = store_schema_code[v] ? store_schema_code[v](s->db) : SQLITE_OK;
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(s->db, store_schema_steps[v], NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        return rc;
                log_debug("Store %s: migrated schema to version %d.", s->path, v + 1);
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

int store_schema_migrate(Store *s, int from) {
        int rc;

        assert(s);
        assert(from >= 0 && from < STORE_SCHEMA_VERSION);

        /* One transaction: a crash leaves either the old schema or the new one. */
        rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = store_schema_steps_from(s, from);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
}

/* The rows that are written whole: an upsert, not INSERT OR REPLACE (replacing deletes the
 * row, and with it (cascade) every file row; it would also give the job a new place in the
 * order). The columns are listed once: each is bound by its name (":name"); those of
 * `columns` and `plain` are updated on conflict, the others are written by the first insert
 * only. */
typedef struct Upsert {
        const char *table;
        const char *const *key;         /* the conflict target */
        const char *const *columns;     /* the others written out where they are bound */
        const StoreColumnTable *plain;  /* and those of a table, or NULL */
        const char *const *insert_only; /* never change: left out of the update, or NULL */
} Upsert;

#define STRV_MAKE(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const Upsert job_upsert = {
        .table = "jobs",
        .key = STRV_MAKE("seq"),
        .columns = STRV_MAKE("type", "state", "priority", "http_headers", "cost_policy", "fs_gid", "fs_groups",
                             "max_concurrent_files"),
        .plain = &store_job_columns,
        .insert_only = STRV_MAKE("id"),
};

static const Upsert file_upsert = {
        .table = "files",
        .key = STRV_MAKE("job_seq", "idx"),
        .columns = STRV_MAKE("committed", "mirrors", "expected_size"),
        .plain = &store_file_columns,
};

static const Upsert unlink_upsert = {
        .table = "pending_unlinks",
        .key = STRV_MAKE("dir", "name"),
        .columns = STRV_MAKE("owner", "dev", "ino"),
};

static const Upsert delete_upsert = {
        .table = "pending_deletes",
        .key = STRV_MAKE("url"),
        .columns = STRV_MAKE("headers"),
        .plain = &store_delete_columns,
};

/* Writes the names of l (NULL: none), as store_put_name() does. */
static void put_names(FILE *f, const char *const *l, StoreNameForm form, bool *first) {
        for (; l && *l; l++)
                store_put_name(f, *l, form, first);
}

/* Every column of u: the key, the others, the table's, the insert-only ones. */
static void put_all_names(FILE *f, const Upsert *u, StoreNameForm form) {
        bool first = true;

        put_names(f, u->key, form, &first);
        put_names(f, u->columns, form, &first);
        if (u->plain)
                store_columns_put_names(f, u->plain, form, &first);
        put_names(f, u->insert_only, form, &first);
}

static char *upsert_sql(const Upsert *u) {
        _cleanup_free_ char *sql = NULL;
        size_t size = 0;
        bool first;
        FILE *f;

        f = open_memstream(&sql, &size);
        if (!f)
                return NULL;
        fprintf(f, "INSERT INTO %s (", u->table);
        put_all_names(f, u, STORE_NAME_PLAIN);
        fputs(") VALUES (", f);
        put_all_names(f, u, STORE_NAME_PARAMETER);
        fputs(") ON CONFLICT (", f);
        first = true;
        put_names(f, u->key, STORE_NAME_PLAIN, &first);
        fputs(") DO UPDATE SET ", f);
        first = true;
        put_names(f, u->columns, STORE_NAME_FROM_EXCLUDED, &first);
        if (u->plain)
                store_columns_put_names(f, u->plain, STORE_NAME_FROM_EXCLUDED, &first);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(sql);
}

/* The statements that run for every change of every job, prepared once. */
static const struct {
        size_t offset;          /* of the sqlite3_stmt * in Store */
        const char *sql;        /* or: */
        const Upsert *upsert;
} store_schema_cached[] = {
        { .offset = offsetof(Store, begin), .sql = "BEGIN IMMEDIATE" },
        { .offset = offsetof(Store, commit), .sql = "COMMIT" },
        { .offset = offsetof(Store, rollback), .sql = "ROLLBACK" },
        { .offset = offsetof(Store, save_job), .upsert = &job_upsert },
        { .offset = offsetof(Store, save_counters),
          .sql = "UPDATE jobs SET bytes_from_cache = :bytes_from_cache, bytes_from_origin = :bytes_from_origin "
                 "WHERE seq = :seq" },
        { .offset = offsetof(Store, save_file), .upsert = &file_upsert },
        { .offset = offsetof(Store, trim_files), .sql = "DELETE FROM files WHERE job_seq = :job_seq AND idx >= :n" },
        { .offset = offsetof(Store, delete_job), .sql = "DELETE FROM jobs WHERE seq = :seq" },
        { .offset = offsetof(Store, add_unlink), .upsert = &unlink_upsert },
        { .offset = offsetof(Store, remove_unlink),
          .sql = "DELETE FROM pending_unlinks WHERE dir = :dir AND name = :name" },
        { .offset = offsetof(Store, save_delete), .upsert = &delete_upsert },
        { .offset = offsetof(Store, remove_delete), .sql = "DELETE FROM pending_deletes WHERE url = :url" },
};

static sqlite3_stmt **store_schema_cached_at(Store *s, size_t i) {
        return (sqlite3_stmt **) ((char *) s + store_schema_cached[i].offset);
}

int store_schema_prepare(Store *s) {
        assert(s);

        for (size_t i = 0; i < ELEMENTSOF(store_schema_cached); i++) {
                _cleanup_free_ char *built = NULL;
                const char *sql = store_schema_cached[i].sql;
                int rc;

                if (store_schema_cached[i].upsert) {
                        sql = built = upsert_sql(store_schema_cached[i].upsert);
                        if (!sql)
                                return -ENOMEM;
                }
                rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, store_schema_cached_at(s, i), NULL);
                if (rc != SQLITE_OK)
                        return store_fail(s, rc, "prepare \"%.60s\"", sql);
        }

        /* The key of the next new job: after every stored one. */
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT ifnull(max(seq), 0) + 1 FROM jobs", -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_fail(s, rc, "read the largest job key");
        s->next_key = sqlite3_column_int64(st, 0);
        return 0;
}

int64_t store_new_key(Store *s) {
        assert(s);

        return s->next_key++;
}

void store_schema_finalize(Store *s) {
        assert(s);

        for (size_t i = 0; i < ELEMENTSOF(store_schema_cached); i++) {
                sqlite3_stmt **st = store_schema_cached_at(s, i);

                sql_finalize(*st);
                *st = NULL;
        }
}
