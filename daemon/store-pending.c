/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Work that outlives its job: temporary files still to remove and tus termination DELETEs
 * still to deliver. */
#include "log.h"
#include "store-internal.h"
#include "url-strip.h"

/* ---- pending unlinks -------------------------------------------------------------------- */

int store_add_pending_unlink(Store *s, uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK;

        assert(s);
        assert(dir);
        assert(name);

        st = s->add_unlink;
        sql_bind_int64(st, ":owner", (int64_t) owner, &rc);
        sql_bind_text(st, ":dir", dir, &rc);
        sql_bind_uint64(st, ":dev", (uint64_t) dev, &rc);
        sql_bind_uint64(st, ":ino", (uint64_t) ino, &rc);
        sql_bind_text(st, ":name", name, &rc);
        return store_run(s, st, rc, "record pending unlink of", name);
}

int store_remove_pending_unlink(Store *s, const char *dir, const char *name) {
        sqlite3_stmt *st;
        int rc = SQLITE_OK;

        assert(s);
        assert(dir);
        assert(name);

        st = s->remove_unlink;
        sql_bind_text(st, ":dir", dir, &rc);
        sql_bind_text(st, ":name", name, &rc);
        return store_run(s, st, rc, "forget pending unlink of", name);
}

int store_unlink_list_add(StoreUnlinkList *l, uid_t owner, const char *dir, dev_t dev, ino_t ino,
                          const char *name) {
        _cleanup_free_ char *d = NULL, *n = NULL;
        int r;

        assert(l);
        assert(dir);
        assert(name);

        d = strdup(dir);
        n = strdup(name);
        if (!d || !n)
                return -ENOMEM;
        r = array_reserve((void **) &l->items, &l->allocated, l->n + 1, sizeof *l->items);
        if (r < 0)
                return r;
        l->items[l->n++] = (StoreUnlink) {
                .owner = owner,
                .dir = TAKE_PTR(d),
                .dev = dev,
                .ino = ino,
                .name = TAKE_PTR(n),
        };
        return 0;
}

void store_unlink_list_done(StoreUnlinkList *l) {
        assert(l);

        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].dir);
                free(l->items[i].name);
        }
        l->items = mfree(l->items);
        l->n = l->allocated = 0;
}

/* The columns of the SELECT below, in its order. */
enum {
        UC_OWNER, UC_DIR, UC_DEV, UC_INO, UC_NAME,
};

static int store_read_unlink(Store *s, sqlite3_stmt *st, void *userdata) {
        const char *dir = (const char *) sqlite3_column_text(st, UC_DIR);
        const char *name = (const char *) sqlite3_column_text(st, UC_NAME);

        /* The columns are NOT NULL; only a damaged row could lack them. */
        if (!dir || !name) {
                log_warning("Store %s: skipping a pending unlink without directory or name.", s->path);
                return 0;
        }
        if (store_unlink_list_add(userdata, (uid_t) sqlite3_column_int64(st, UC_OWNER), dir,
                                  (dev_t) sqlite3_column_int64(st, UC_DEV), (ino_t) sqlite3_column_int64(st, UC_INO),
                                  name) < 0)
                return log_oom();
        return 0;
}

int store_load_pending_unlinks(Store *s,
                               int (*cb)(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                                         void *userdata),
                               void *userdata) {
        _cleanup_(store_unlink_list_done) StoreUnlinkList list = { .items = NULL };
        int r;

        assert(s);
        assert(cb);

        /* Read first: the callback typically removes the row it was given. */
        r = store_read_all(s, "SELECT owner, dir, dev, ino, name FROM pending_unlinks ORDER BY rowid",
                           "pending unlinks", store_read_unlink, &list);
        if (r < 0)
                return r;

        for (size_t i = 0; i < list.n; i++) {
                r = cb(list.items[i].owner, list.items[i].dir, list.items[i].dev, list.items[i].ino,
                       list.items[i].name, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pending deletes -------------------------------------------------------------------- */

/* A tus upload URL may carry a token in its query: logs name it stripped. */
#define PENDING_URL_SHOWN_MAX 512

int store_save_pending_delete(Store *s, const PendingDelete *d) {
        _cleanup_free_ char *headers = NULL;
        char shown[PENDING_URL_SHOWN_MAX];
        sqlite3_stmt *st;
        int rc = SQLITE_OK, r;

        assert(s);
        assert(d);

        /* A record without its key cannot be stored: refused like a bad header. */
        if (!d->url)
                return -EINVAL;
        r = store_check_usable(s);
        if (r < 0)
                return r;
        url_strip(shown, sizeof shown, d->url);
        r = store_join_list(s, d->headers, "headers of pending delete of", shown, &headers);
        if (r < 0)
                return r;

        st = s->save_delete;
        sql_bind_text(st, ":url", d->url, &rc);
        sql_bind_text(st, ":headers", headers, &rc);
        store_columns_bind(st, &store_delete_columns, d, &rc);
        return store_run(s, st, rc, "record pending delete of", shown);
}

int store_remove_pending_delete(Store *s, const char *url) {
        char shown[PENDING_URL_SHOWN_MAX];
        int rc = SQLITE_OK;

        assert(s);
        assert(url);

        sql_bind_text(s->remove_delete, ":url", url, &rc);
        return store_run(s, s->remove_delete, rc, "forget pending delete of", url_strip(shown, sizeof shown, url));
}

typedef struct DeleteList {
        PendingDelete *items;
        size_t n, allocated;
} DeleteList;

static void store_delete_list_done(DeleteList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].url);
                strv_free(l->items[i].headers);
        }
        free(l->items);
}

/* The columns written out, in the order of the SELECT below; the table's columns
 * (store-columns.c) follow them. */
enum {
        DC_URL, DC_HEADERS,
        DC_PLAIN,
};

static int store_read_delete(Store *s, sqlite3_stmt *st, void *userdata) {
        DeleteList *list = userdata;
        _cleanup_free_ char *url = NULL, *joined = NULL;
        _cleanup_strv_free_ char **headers = NULL;
        PendingDelete d = { .url = NULL };

        if (sql_column_dup(st, DC_URL, &url) < 0 || sql_column_dup(st, DC_HEADERS, &joined) < 0 ||
            (joined && sql_split_headers(joined, &headers) < 0))
                return log_oom();
        /* The column is NOT NULL; only a damaged row could lack it. */
        if (!url) {
                log_warning("Store %s: skipping a pending delete without URL.", s->path);
                return 0;
        }
        /* Numbers only: nothing to free if it fails. */
        if (store_columns_read(st, DC_PLAIN, &store_delete_columns, &d) < 0 ||
            array_reserve((void **) &list->items, &list->allocated, list->n + 1, sizeof *list->items) < 0)
                return log_oom();
        d.url = TAKE_PTR(url);
        d.headers = TAKE_PTR(headers);
        list->items[list->n++] = d;
        return 0;
}

int store_load_pending_deletes(Store *s, int (*cb)(const PendingDelete *d, void *userdata), void *userdata) {
        _cleanup_(store_delete_list_done) DeleteList list = { .items = NULL };
        _cleanup_free_ char *sql = NULL;
        int r;

        assert(s);
        assert(cb);

        sql = store_columns_select("SELECT url, headers", &store_delete_columns, "FROM pending_deletes ORDER BY rowid");
        if (!sql)
                return log_oom();
        /* Read first: the callback removes or reschedules the row it was given. */
        r = store_read_all(s, sql, "pending deletes", store_read_delete, &list);
        if (r < 0)
                return r;

        for (size_t i = 0; i < list.n; i++) {
                r = cb(&list.items[i], userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
