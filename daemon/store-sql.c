/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SQLite helpers that need no Store: cleanups for statements, result codes as errno, binding
 * by parameter name, copying columns, the one-column forms of a header list and a group list. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store-internal.h"

void sql_finalizep(sqlite3_stmt **st) {
        assert(st);

        sql_finalize(*st);
}

void sql_resetp(sqlite3_stmt **st) {
        assert(st);

        if (!*st)
                return;
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
}

int sql_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        default:
                return -EIO;
        }
}

bool sql_is_broken(int rc) {
        return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* ---- binding ----------------------------------------------------------------------------
 * Each helper does nothing once *rc holds an error, so a row is bound in a straight list
 * and checked once. Parameters are named to keep the SQL and the code readable together. */

/* sqlite3_bind_parameter_index() compares the name with each of the statement's parameters
 * in turn: a job's row (36 of them) cost over a thousand string comparisons, a fifth of the
 * CPU of writing it. The cached statements are bound with the same literals every time, so
 * the index of a (statement, name) pair is remembered until the statement is finalized
 * (sql_finalize() forgets it, so that another statement made at its address starts afresh).
 * Only the thread that uses the store binds and finalizes. */
#define PARAM_CACHE_SIZE 2048

typedef struct ParamCacheEntry {
        const sqlite3_stmt *st;
        const char *name;
        int index;
} ParamCacheEntry;

static _Thread_local ParamCacheEntry param_cache[PARAM_CACHE_SIZE];

static ParamCacheEntry *param_cache_slot(const sqlite3_stmt *st, const char *name) {
        uint64_t h = ((uint64_t) (uintptr_t) st ^ ((uint64_t) (uintptr_t) name << 7)) * UINT64_C(0x9e3779b97f4a7c15);

        return &param_cache[(h >> 32) % PARAM_CACHE_SIZE];
}

/* The index of parameter `name`, or 0 (and *rc set) when an earlier binding failed or the
 * statement has no such parameter. */
static int sql_param_index(sqlite3_stmt *st, const char *name, int *rc) {
        ParamCacheEntry *e;
        int i;

        if (*rc != SQLITE_OK)
                return 0;
        e = param_cache_slot(st, name);
        if (e->st == st && e->name == name)
                return e->index;
        i = sqlite3_bind_parameter_index(st, name);
        if (i == 0) {
                *rc = SQLITE_RANGE;
                return 0;
        }
        *e = (ParamCacheEntry) { .st = st, .name = name, .index = i };
        return i;
}

bool sql_param_cache_knows(const sqlite3_stmt *st) {
        for (size_t i = 0; i < PARAM_CACHE_SIZE; i++)
                if (st && param_cache[i].st == st)
                        return true;
        return false;
}

void sql_finalize(sqlite3_stmt *st) {
        if (!st)
                return;
        /* A few microseconds, at a finalize: the cached statements live as long as the store. */
        for (size_t i = 0; i < PARAM_CACHE_SIZE; i++)
                if (param_cache[i].st == st)
                        param_cache[i] = (ParamCacheEntry) { .st = NULL };
        store_columns_forget(st);
        sqlite3_finalize(st);
}

void sql_bind_text(sqlite3_stmt *st, const char *name, const char *v, int *rc) {
        assert(st);
        assert(name);
        assert(rc);

        /* Static: the statement runs and its bindings are cleared before the string can change. */
        int i = sql_param_index(st, name, rc);
        if (i > 0)
                *rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

void sql_bind_int64(sqlite3_stmt *st, const char *name, int64_t v, int *rc) {
        assert(st);
        assert(name);
        assert(rc);

        int i = sql_param_index(st, name, rc);
        if (i > 0)
                *rc = sqlite3_bind_int64(st, i, v);
}

/* SQLite integers are signed 64-bit: unsigned values (UINT64_MAX for "unknown", large inode
 * numbers) are stored as their two's complement bit pattern and cast back on load. */
void sql_bind_uint64(sqlite3_stmt *st, const char *name, uint64_t v, int *rc) {
        assert(st);
        assert(name);
        assert(rc);

        sql_bind_int64(st, name, (int64_t) v, rc);
}

void sql_bind_bool(sqlite3_stmt *st, const char *name, bool v, int *rc) {
        assert(st);
        assert(name);
        assert(rc);

        sql_bind_int64(st, name, v ? 1 : 0, rc);
}

/* Headers cannot contain newlines (the manager refuses them), so one newline-joined column
 * holds them all. No headers is NULL; a list with one empty string is "". */
int sql_join_headers(char * const *headers, char **ret) {
        char *joined;

        assert(ret);

        if (strv_length(headers) == 0) {
                *ret = NULL;
                return 0;
        }
        for (char * const *h = headers; *h; h++)
                if (strchr(*h, '\n'))
                        return -EINVAL;
        joined = strv_join(headers, "\n");
        if (!joined)
                return -ENOMEM;
        *ret = joined;
        return 0;
}

int sql_split_headers(const char *joined, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 1, i = 0;

        assert(joined);
        assert(ret);

        for (const char *p = joined; *p; p++)
                if (*p == '\n')
                        n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *p = joined;; i++) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);

                l[i] = strndup(p, len);
                if (!l[i])
                        return -ENOMEM;
                if (!nl)
                        break;
                p = nl + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Copies a text column; NULL stays NULL. */
int sql_column_dup(sqlite3_stmt *st, int col, char **ret) {
        const char *t;

        assert(st);
        assert(ret);

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }
        t = (const char *) sqlite3_column_text(st, col);
        if (!t)
                return -ENOMEM;
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

int sql_join_gids(const gid_t *gids, int n, char **ret) {
        char *buf, *p;

        assert(gids || n == 0);
        assert(n >= 0);
        assert(ret);

        /* At most 10 digits and a space each. */
        if ((size_t) n > SIZE_MAX / 11 - 1)
                return -E2BIG;
        p = buf = malloc((size_t) n * 11 + 1);
        if (!buf)
                return -ENOMEM;
        *p = 0;
        for (int i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = ' ';
                p += decimal_u32(p, (uint32_t) gids[i]);
        }
        *ret = buf;
        return 0;
}

int sql_split_gids(const char *s, gid_t **ret, int *ret_n) {
        _cleanup_free_ gid_t *gids = NULL;
        size_t n = 0, allocated = 0;

        assert(s);
        assert(ret);
        assert(ret_n);

        while (*s) {
                char *end;
                unsigned long v;

                if (n > 0) {
                        if (*s != ' ')
                                return -EINVAL;
                        s++;
                }
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                errno = 0;
                v = strtoul(s, &end, 10);
                if (errno != 0 || v >= (gid_t) -1 || n >= INT_MAX)
                        return -EINVAL;
                if (array_reserve((void **) &gids, &allocated, n + 1, sizeof(gid_t)) < 0)
                        return -ENOMEM;
                gids[n++] = (gid_t) v;
                s = end;
        }
        *ret = TAKE_PTR(gids);
        *ret_n = (int) n;
        return 0;
}
