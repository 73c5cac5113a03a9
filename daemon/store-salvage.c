/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a store that must be moved aside still tells: the temporary files of its jobs. The jobs
 * are lost with the store; their temporary files (".<name>.xferd-<job id>-<index>" in users'
 * directories) must not stay behind for ever. Whatever rows can still be read become pending
 * unlinks of the fresh store, which removes them at once, with each owner's identity and the
 * directory checked by device and inode. */
#include <stdio.h>

#include "log.h"
#include "store-internal.h"

static bool is_lower_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* ".<name>.xferd-<32 hex digits>-<index>", the hex digits being job_id when it is given: a
 * damaged row must not name some other file. */
static bool temp_name_is_ours(const char *name, const char *job_id) {
        const char *p = NULL, *q;

        if (name[0] != '.' || strchr(name, '/'))
                return false;
        for (q = strstr(name, ".xferd-"); q; q = strstr(q + 1, ".xferd-"))
                p = q;
        if (!p || p == name)
                return false;
        p += strlen(".xferd-");
        for (size_t i = 0; i < 32; i++)
                if (!is_lower_hex(p[i]))
                        return false;
        if (job_id && strncmp(p, job_id, 32) != 0)
                return false;
        p += 32;
        if (*p++ != '-' || !*p)
                return false;
        for (; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

static int salvage_add(StoreUnlinkList *v, uid_t owner, const char *dir, uint64_t dev, uint64_t ino, const char *name) {
        if (!dir || dir[0] != '/' || !name)
                return 0;
        return store_unlink_list_add(v, owner, dir, (dev_t) dev, (ino_t) ino, name);
}

typedef struct SalvagedJob {
        char id[33];
        uid_t owner;
} SalvagedJob;

static int salvaged_job_compare(const void *a, const void *b) {
        return strcmp(((const SalvagedJob *) a)->id, ((const SalvagedJob *) b)->id);
}

/* Runs sql on the broken database and hands each row to `row`; a damaged page ends the read
 * early, keeping what came before it. Returns how many rows were read. */
static size_t salvage_read(sqlite3 *db, const char *sql, int (*row)(sqlite3_stmt *st, void *userdata),
                           void *userdata) {
        _cleanup_(sql_finalizep) sqlite3_stmt *st = NULL;
        size_t n = 0;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK) {
                log_debug("Cannot read the broken store (%s): %s", sql, sqlite3_errmsg(db));
                return 0;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (row(st, userdata) < 0)
                        break;
                n++;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                log_debug("Reading the broken store stopped early (%s): %s", sql, sqlite3_errmsg(db));
        return n;
}

typedef struct JobTable {
        SalvagedJob *jobs;
        size_t n, allocated;
} JobTable;

static int row_job(sqlite3_stmt *st, void *userdata) {
        JobTable *t = userdata;
        const char *id = (const char *) sqlite3_column_text(st, 0);
        int r;

        if (!id || strlen(id) != 32)
                return 0;
        r = array_reserve((void **) &t->jobs, &t->allocated, t->n + 1, sizeof *t->jobs);
        if (r < 0)
                return r;
        memcpy(t->jobs[t->n].id, id, 33);
        t->jobs[t->n].owner = (uid_t) sqlite3_column_int64(st, 1);
        t->n++;
        return 0;
}

typedef struct FileRows {
        JobTable *jobs;
        StoreUnlinkList *salvage;
} FileRows;

static int row_file(sqlite3_stmt *st, void *userdata) {
        FileRows *f = userdata;
        SalvagedJob key = { .owner = 0 }, *job;
        const char *id = (const char *) sqlite3_column_text(st, 0);
        const char *name = (const char *) sqlite3_column_text(st, 4);

        if (!id || strlen(id) != 32 || !name)
                return 0;
        memcpy(key.id, id, 33);
        job = f->jobs->n ? bsearch(&key, f->jobs->jobs, f->jobs->n, sizeof key, salvaged_job_compare) : NULL;
        if (!job || !temp_name_is_ours(name, id))
                return 0;
        return salvage_add(f->salvage, job->owner, (const char *) sqlite3_column_text(st, 1),
                           (uint64_t) sqlite3_column_int64(st, 2), (uint64_t) sqlite3_column_int64(st, 3), name);
}

static int row_pending(sqlite3_stmt *st, void *userdata) {
        const char *name = (const char *) sqlite3_column_text(st, 4);

        if (!name || !temp_name_is_ours(name, NULL))
                return 0;
        return salvage_add(userdata, (uid_t) sqlite3_column_int64(st, 0), (const char *) sqlite3_column_text(st, 1),
                           (uint64_t) sqlite3_column_int64(st, 2), (uint64_t) sqlite3_column_int64(st, 3), name);
}

void store_salvage_read(sqlite3 *db, StoreUnlinkList *v) {
        JobTable jobs = { .n = 0 };
        FileRows files = { .jobs = &jobs, .salvage = v };

        assert(db);
        assert(v);

        /* No index: an index is what may be damaged, the tables may still be whole. */
        (void) salvage_read(db, "SELECT id, owner FROM jobs NOT INDEXED", row_job, &jobs);
        if (jobs.n > 0)
                qsort(jobs.jobs, jobs.n, sizeof *jobs.jobs, salvaged_job_compare);
        /* The files name their job by its key (schema 10 on) or by its id (before): the query
         * of the other schema fails to prepare and reads nothing. */
        (void) salvage_read(db, "SELECT (SELECT id FROM jobs NOT INDEXED WHERE seq = job_seq), dir, dir_dev, "
                            "dir_ino, temp_name FROM files WHERE temp_exists", row_file, &files);
        (void) salvage_read(db, "SELECT job_id, dir, dir_dev, dir_ino, temp_name FROM files NOT INDEXED "
                            "WHERE temp_exists", row_file, &files);
        (void) salvage_read(db, "SELECT owner, dir, dev, ino, name FROM pending_unlinks NOT INDEXED",
                            row_pending, v);
        free(jobs.jobs);
}

int store_salvage_keep(Store *s, const StoreUnlinkList *v) {
        int r, k = 0;

        assert(s);
        assert(v);

        if (v->n == 0)
                return 0;
        r = store_begin(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n && k >= 0; i++)
                k = store_add_pending_unlink(s, v->items[i].owner, v->items[i].dir, v->items[i].dev,
                                             v->items[i].ino, v->items[i].name);
        r = store_end(s);
        if (k < 0 || r < 0)
                return k < 0 ? k : r;
        log_info("Store %s: %zu temporary file(s) of the jobs in the broken store are removed now.", s->path, v->n);
        return 0;
}
