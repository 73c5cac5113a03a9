/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test HTTP server: see http-server.h.
 *
 * Threading: the SoupServer, its messages and the Stream records live only in
 * the server thread. Resource records (content, behaviour, counters) are
 * shared and guarded by `lock`; `cond` is broadcast whenever a counter moves,
 * which is what the wait helpers sleep on. Calls that must touch a message
 * (release) are sent to the server thread with g_main_context_invoke().
 *
 * Bodies are always streamed (non-accumulating body, one chunk appended per
 * "wrote-chunk"), for two reasons: a response can then stop at an exact byte
 * count, and libsoup's own Range handling (which only applies to accumulated
 * 200 bodies) stays out of the way, so "ignore Range" really ignores it.
 */
#include "http-server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#define CHUNK_SIZE (64 * 1024)

typedef enum {
        LIMIT_NONE,
        LIMIT_STALL,
        LIMIT_DROP,
} LimitKind;

typedef struct {
        GBytes *content;          /* NULL: not found (unless served from root) */
        char *etag;
        char *last_modified;
        gboolean validators_set;  /* by the test: no default ETag then */
        guint fail_status;
        char *fail_reason;
        int fail_retry_after;
        guint fail_times;
        gboolean ignore_range;
        guint redirect_status;
        char *redirect_location;
        gboolean stall;
        gsize stall_after;
        guint hang_times;
        gsize drop_after;
        guint drop_times;
        GPtrArray *extra_headers;  /* name, value, name, value, … */
        struct {
                HttpDigestMode mode;
                GChecksumType type;
        } digests[3];              /* by HttpDigestField */
        guint64 rate;             /* bytes/s of response bodies; 0 = as fast as possible */
        gboolean endless;         /* chunked bodies of the pattern that never end */
        /* observations */
        guint requests;
        GArray *request_times;    /* gint64 */
        GHashTable *last_headers; /* lower-case name → value */
        guint stalled_now;
        guint64 body_bytes;       /* body bytes written to the network, every response */
} Resource;

struct HttpServer {
        GMutex lock;
        GCond cond;
        GHashTable *resources;    /* path → Resource */
        char *root;

        GThread *thread;
        GMainContext *ctx;
        GMainLoop *loop;
        gboolean started;
        GError *start_error;
        guint16 port;
        guint16 wanted_port;
        char *tls_cert_file;      /* https: PEM certificate (chain) and key; NULL for http */
        char *tls_key_file;
        guint64 total_body_bytes; /* every path's body_bytes together */

        /* server thread only */
        SoupServer *soup;
        GPtrArray *streams;       /* Stream */
};

/* One response body being written (server thread only). */
typedef struct {
        HttpServer *server;
        char *path;
        SoupServerMessage *msg;
        GBytes *content;
        gsize pos;                /* next byte to append */
        gsize first;              /* the first byte of the body */
        guint64 rate;             /* bytes/s, 0 = no limit */
        gint64 started;           /* monotonic µs when the headers were written */
        gboolean timer_pending;   /* a paced append is scheduled */
        gsize end;                /* one past the last byte of the body */
        gsize limit;              /* where to stop early (== end: nowhere) */
        LimitKind kind;
        gboolean endless;         /* the pattern, with no end */
        gboolean stalled;
        gboolean done;
} Stream;

/* What the handler decided under the lock, performed outside it. */
typedef struct {
        guint status;
        char *reason;
        int retry_after;
        char *location;
        gboolean hang;
        GBytes *content;
        char *etag;
        char *last_modified;
        gboolean ignore_range;
        LimitKind kind;
        gsize limit;
        GPtrArray *extra_headers;
        struct {
                HttpDigestMode mode;
                GChecksumType type;
        } digests[3];
        guint64 rate;
        gboolean endless;
} Plan;

/* ---------------------------------------------------------------- pattern */

static guint8
pattern_byte (guint64 i)
{
        /* An integer hash: no short period, so a body shifted by any offset
         * (a wrong Range resume) does not match. */
        guint32 x = (guint32) (i ^ (i >> 32));

        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return (guint8) x;
}

void
http_pattern_fill (guint8 *buf, guint64 offset, gsize len)
{
        for (gsize i = 0; i < len; i++)
                buf[i] = pattern_byte (offset + i);
}

GBytes *
http_pattern_bytes (gsize size)
{
        guint8 *buf = g_malloc (size ? size : 1);

        http_pattern_fill (buf, 0, size);
        return g_bytes_new_take (buf, size);
}

/* -------------------------------------------------------------- resources */

static void
resource_free (gpointer data)
{
        Resource *res = data;

        g_clear_pointer (&res->content, g_bytes_unref);
        g_free (res->etag);
        g_free (res->last_modified);
        g_free (res->fail_reason);
        g_free (res->redirect_location);
        g_array_unref (res->request_times);
        g_hash_table_unref (res->last_headers);
        g_ptr_array_unref (res->extra_headers);
        g_free (res);
}

/* Called with the lock held. */
static Resource *
resource_get (HttpServer *self, const char *path)
{
        Resource *res = g_hash_table_lookup (self->resources, path);

        if (res)
                return res;
        res = g_new0 (Resource, 1);
        res->fail_retry_after = -1;
        res->request_times = g_array_new (FALSE, FALSE, sizeof (gint64));
        res->last_headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        res->extra_headers = g_ptr_array_new_with_free_func (g_free);
        g_hash_table_insert (self->resources, g_strdup (path), res);
        return res;
}

void
http_server_add_bytes (HttpServer *self, const char *path, GBytes *content)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        g_clear_pointer (&res->content, g_bytes_unref);
        res->content = g_bytes_ref (content);
        if (!res->validators_set) {
                /* Like a real static file server: every version has its own ETag. */
                g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, content);
                g_free (res->etag);
                res->etag = g_strdup_printf ("\"%.16s\"", sum);
        }
        g_mutex_unlock (&self->lock);
}

GBytes *
http_server_add_generated (HttpServer *self, const char *path, gsize size)
{
        GBytes *content = http_pattern_bytes (size);

        http_server_add_bytes (self, path, content);
        return content;
}

void
http_server_set_validators (HttpServer *self, const char *path,
                            const char *etag, const char *last_modified)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        g_free (res->etag);
        g_free (res->last_modified);
        res->etag = g_strdup (etag);
        res->last_modified = g_strdup (last_modified);
        res->validators_set = TRUE;
        g_mutex_unlock (&self->lock);
}

void
http_server_fail (HttpServer *self, const char *path, guint status,
                  const char *reason, int retry_after, guint times)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        res->fail_status = status;
        g_free (res->fail_reason);
        res->fail_reason = g_strdup (reason);
        res->fail_retry_after = retry_after;
        res->fail_times = times;
        g_mutex_unlock (&self->lock);
}

void
http_server_redirect (HttpServer *self, const char *path, guint status, const char *location)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        res->redirect_status = status;
        g_free (res->redirect_location);
        res->redirect_location = g_strdup (location);
        g_mutex_unlock (&self->lock);
}

void
http_server_set_ignore_range (HttpServer *self, const char *path, gboolean ignore)
{
        g_mutex_lock (&self->lock);
        resource_get (self, path)->ignore_range = ignore;
        g_mutex_unlock (&self->lock);
}

void
http_server_stall_after (HttpServer *self, const char *path, gsize bytes)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        res->stall = TRUE;
        res->stall_after = bytes;
        g_mutex_unlock (&self->lock);
}

void
http_server_set_endless (HttpServer *self, const char *path, gboolean endless)
{
        g_mutex_lock (&self->lock);
        resource_get (self, path)->endless = endless;
        g_mutex_unlock (&self->lock);
}

void
http_server_set_rate (HttpServer *self, const char *path, guint64 bytes_per_second)
{
        g_mutex_lock (&self->lock);
        resource_get (self, path)->rate = bytes_per_second;
        g_mutex_unlock (&self->lock);
}

void
http_server_hang (HttpServer *self, const char *path, guint times)
{
        g_mutex_lock (&self->lock);
        resource_get (self, path)->hang_times = times;
        g_mutex_unlock (&self->lock);
}

void
http_server_drop_after (HttpServer *self, const char *path, gsize bytes, guint times)
{
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        res->drop_after = bytes;
        res->drop_times = times;
        g_mutex_unlock (&self->lock);
}

void
http_server_set_header (HttpServer *self, const char *path, const char *name, const char *value)
{
        g_mutex_lock (&self->lock);
        GPtrArray *headers = resource_get (self, path)->extra_headers;
        for (guint i = 0; i < headers->len; i += 2)
                if (g_ascii_strcasecmp (g_ptr_array_index (headers, i), name) == 0) {
                        g_ptr_array_remove_range (headers, i, 2);
                        break;
                }
        if (value) {
                g_ptr_array_add (headers, g_strdup (name));
                g_ptr_array_add (headers, g_strdup (value));
        }
        g_mutex_unlock (&self->lock);
}

void
http_server_send_digest (HttpServer *self, const char *path, HttpDigestField field,
                         GChecksumType type, HttpDigestMode mode)
{
        g_assert (field <= HTTP_DIGEST_LEGACY);
        g_assert (type == G_CHECKSUM_SHA256 || type == G_CHECKSUM_SHA512);
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        res->digests[field].mode = mode;
        res->digests[field].type = type;
        g_mutex_unlock (&self->lock);
}

GBytes *
http_server_checksum_list (HttpServer *self, GChecksumType type, const char *const *paths)
{
        GString *list = g_string_new (NULL);

        g_mutex_lock (&self->lock);
        for (const char *const *p = paths; *p; p++) {
                Resource *res = resource_get (self, *p);
                g_assert (res->content);
                g_autofree char *hex = g_compute_checksum_for_bytes (type, res->content);
                g_string_append_printf (list, "%s  %s\n", hex, strrchr (*p, '/') ? strrchr (*p, '/') + 1 : *p);
        }
        g_mutex_unlock (&self->lock);
        return g_string_free_to_bytes (list);
}

/* ----------------------------------------------------------- observations */

guint
http_server_request_count (HttpServer *self, const char *path)
{
        g_mutex_lock (&self->lock);
        guint n = resource_get (self, path)->requests;
        g_mutex_unlock (&self->lock);
        return n;
}

char *
http_server_last_header (HttpServer *self, const char *path, const char *name)
{
        g_autofree char *key = g_ascii_strdown (name, -1);

        g_mutex_lock (&self->lock);
        char *value = g_strdup (g_hash_table_lookup (resource_get (self, path)->last_headers, key));
        g_mutex_unlock (&self->lock);
        return value;
}

gint64
http_server_request_time (HttpServer *self, const char *path, guint index)
{
        gint64 t = -1;

        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        if (index < res->request_times->len)
                t = g_array_index (res->request_times, gint64, index);
        g_mutex_unlock (&self->lock);
        return t;
}

guint
http_server_stalled_count (HttpServer *self, const char *path)
{
        g_mutex_lock (&self->lock);
        guint n = resource_get (self, path)->stalled_now;
        g_mutex_unlock (&self->lock);
        return n;
}

typedef guint (*CounterFunc) (Resource *res);

static guint
counter_requests (Resource *res)
{
        return res->requests;
}

static guint
counter_stalled (Resource *res)
{
        return res->stalled_now;
}

guint64
http_server_body_bytes (HttpServer *self, const char *path)
{
        g_mutex_lock (&self->lock);
        guint64 n = resource_get (self, path)->body_bytes;
        g_mutex_unlock (&self->lock);
        return n;
}

guint64
http_server_total_body_bytes (HttpServer *self)
{
        g_mutex_lock (&self->lock);
        guint64 n = self->total_body_bytes;
        g_mutex_unlock (&self->lock);
        return n;
}

gboolean
http_server_wait_body_bytes (HttpServer *self, const char *path, guint64 n, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        while (res->body_bytes < n)
                if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
                        break;
        gboolean ok = res->body_bytes >= n;
        g_mutex_unlock (&self->lock);
        return ok;
}

static gboolean
wait_counter (HttpServer *self, const char *path, CounterFunc counter,
              guint n, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
        gboolean ok;

        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        while (!(ok = counter (res) >= n))
                if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
                        break;
        ok = counter (res) >= n;
        g_mutex_unlock (&self->lock);
        return ok;
}

gboolean
http_server_wait_requests (HttpServer *self, const char *path, guint n, guint timeout_ms)
{
        return wait_counter (self, path, counter_requests, n, timeout_ms);
}

gboolean
http_server_wait_stalled (HttpServer *self, const char *path, guint n, guint timeout_ms)
{
        return wait_counter (self, path, counter_stalled, n, timeout_ms);
}

/* --------------------------------------------------------------- planning */

static void
plan_clear (Plan *plan)
{
        g_free (plan->reason);
        g_free (plan->location);
        g_clear_pointer (&plan->content, g_bytes_unref);
        g_free (plan->etag);
        g_free (plan->last_modified);
        g_clear_pointer (&plan->extra_headers, g_ptr_array_unref);
}

static void
record_request (Resource *res, SoupServerMessage *msg)
{
        SoupMessageHeadersIter iter;
        const char *name, *value;
        gint64 now = g_get_monotonic_time ();

        res->requests++;
        g_array_append_val (res->request_times, now);
        g_hash_table_remove_all (res->last_headers);
        soup_message_headers_iter_init (&iter, soup_server_message_get_request_headers (msg));
        while (soup_message_headers_iter_next (&iter, &name, &value))
                g_hash_table_replace (res->last_headers, g_ascii_strdown (name, -1), g_strdup (value));
}

/* A file under the root, with its modification time as Last-Modified, as a static file
 * server sends it. */
static GBytes *
load_from_root (const char *root, const char *path, char **ret_last_modified)
{
        g_autoptr(GError) error = NULL;
        GStatBuf st;

        if (!root || strstr (path, "/../") || g_str_has_suffix (path, "/.."))
                return NULL;
        g_autofree char *file = g_build_filename (root, path, NULL);
        if (!g_file_test (file, G_FILE_TEST_IS_REGULAR) || g_stat (file, &st) < 0)
                return NULL;
        g_autoptr(GMappedFile) mapped = g_mapped_file_new (file, FALSE, &error);
        if (!mapped) {
                g_warning ("test httpd: %s", error->message);
                return NULL;
        }
        g_autoptr(GDateTime) mtime = g_date_time_new_from_unix_utc (st.st_mtime);
        *ret_last_modified = soup_date_time_to_string (mtime, SOUP_DATE_HTTP);
        return g_mapped_file_get_bytes (mapped);
}

/* Decides what to do with a request and consumes one use of each limited
 * behaviour. Runs with the lock held. */
static void
plan_request (HttpServer *self, Resource *res, const char *path, Plan *plan)
{
        plan->retry_after = -1;
        if (res->hang_times > 0) {
                if (res->hang_times != HTTP_SERVER_FOREVER)
                        res->hang_times--;
                plan->hang = TRUE;
                return;
        }
        if (res->fail_times > 0) {
                if (res->fail_times != HTTP_SERVER_FOREVER)
                        res->fail_times--;
                plan->status = res->fail_status;
                plan->reason = g_strdup (res->fail_reason);
                plan->retry_after = res->fail_retry_after;
                return;
        }
        if (res->redirect_location) {
                plan->status = res->redirect_status;
                plan->location = g_strdup (res->redirect_location);
                return;
        }
        if (res->content) {
                plan->content = g_bytes_ref (res->content);
                plan->last_modified = g_strdup (res->last_modified);
        } else
                plan->content = load_from_root (self->root, path, &plan->last_modified);
        if (!plan->content) {
                plan->status = SOUP_STATUS_NOT_FOUND;
                return;
        }
        plan->status = SOUP_STATUS_OK;
        plan->etag = g_strdup (res->etag);
        plan->ignore_range = res->ignore_range;
        plan->extra_headers = g_ptr_array_new_with_free_func (g_free);
        for (guint i = 0; i < res->extra_headers->len; i++)
                g_ptr_array_add (plan->extra_headers, g_strdup (g_ptr_array_index (res->extra_headers, i)));
        memcpy (plan->digests, res->digests, sizeof plan->digests);
        plan->rate = res->rate;
        plan->endless = res->endless;
        if (res->drop_times > 0) {
                if (res->drop_times != HTTP_SERVER_FOREVER)
                        res->drop_times--;
                plan->kind = LIMIT_DROP;
                plan->limit = res->drop_after;
        } else if (res->stall) {
                plan->kind = LIMIT_STALL;
                plan->limit = res->stall_after;
        }
}

/* ------------------------------------------------------------------ ranges */

/* Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n". Returns FALSE for
 * anything else (served as 200, as RFC 9110 allows). *satisfiable tells
 * whether the range overlaps the content. */
static gboolean
parse_range (const char *value, gsize size, gsize *start, gsize *end, gboolean *satisfiable)
{
        char *rest;
        guint64 a, b;

        if (!value || !g_str_has_prefix (value, "bytes=") || strchr (value, ','))
                return FALSE;
        value += strlen ("bytes=");
        *satisfiable = TRUE;
        if (*value == '-') {
                b = g_ascii_strtoull (value + 1, &rest, 10);
                if (rest == value + 1 || *rest)
                        return FALSE;
                if (b == 0 || size == 0) {
                        *satisfiable = FALSE;
                        return TRUE;
                }
                *start = size - MIN (b, size);
                *end = size;
                return TRUE;
        }
        a = g_ascii_strtoull (value, &rest, 10);
        if (rest == value || *rest != '-')
                return FALSE;
        value = rest + 1;
        if (*value) {
                b = g_ascii_strtoull (value, &rest, 10);
                if (*rest || b < a)
                        return FALSE;
        } else {
                b = G_MAXUINT64 - 1;
        }
        if (a >= size) {
                *satisfiable = FALSE;
                return TRUE;
        }
        *start = a;
        *end = MIN (b + 1, size);
        return TRUE;
}

/* If-Range names the validator the client's partial data came from; when it
 * no longer matches, the whole representation is sent. */
static gboolean
if_range_matches (SoupMessageHeaders *req, const Plan *plan)
{
        const char *if_range = soup_message_headers_get_one (req, "If-Range");

        if (!if_range)
                return TRUE;
        if (plan->etag && strcmp (if_range, plan->etag) == 0)
                return TRUE;
        return plan->last_modified && strcmp (if_range, plan->last_modified) == 0;
}

/* If-Modified-Since (without If-None-Match, which no test sends): the content is not newer
 * than the client's copy, so it gets a 304 without a body. */
static gboolean
not_modified_since (SoupMessageHeaders *req, const Plan *plan)
{
        const char *ims = soup_message_headers_get_one (req, "If-Modified-Since");

        if (!ims || !plan->last_modified)
                return FALSE;
        g_autoptr(GDateTime) since = soup_date_time_new_from_http_string (ims);
        g_autoptr(GDateTime) modified = soup_date_time_new_from_http_string (plan->last_modified);
        return since && modified && g_date_time_compare (modified, since) <= 0;
}

/* ----------------------------------------------------------------- streams */

static void stream_pump (Stream *stream);

static Stream *
stream_ref (Stream *stream)
{
        return g_atomic_rc_box_acquire (stream);
}

static void
stream_clear (gpointer data)
{
        Stream *stream = data;

        g_signal_handlers_disconnect_by_data (stream->msg, stream);
        g_object_unref (stream->msg);
        g_bytes_unref (stream->content);
        g_free (stream->path);
}

static void
stream_unref (gpointer data)
{
        g_atomic_rc_box_release_full (data, stream_clear);
}

static void
stream_set_stalled (Stream *stream, gboolean stalled)
{
        HttpServer *self = stream->server;

        if (stream->stalled == stalled)
                return;
        stream->stalled = stalled;
        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, stream->path);
        if (stalled)
                res->stalled_now++;
        else
                res->stalled_now--;
        g_cond_broadcast (&self->cond);
        g_mutex_unlock (&self->lock);
}

static void
stream_finish (Stream *stream)
{
        if (stream->done)
                return;
        stream->done = TRUE;
        stream_set_stalled (stream, FALSE);
        g_ptr_array_remove (stream->server->streams, stream);
}

static void
on_finished (SoupServerMessage *msg, gpointer data)
{
        stream_finish (data);
}

/* The drop: libsoup has written exactly `limit` bytes and paused; take the
 * socket away from it and close it, so the client sees a truncated body. */
static gboolean
drop_connection (gpointer data)
{
        Stream *stream = data;

        if (stream->done)
                return G_SOURCE_REMOVE;
        g_autoptr(GIOStream) io = soup_server_message_steal_connection (stream->msg);
        stream_finish (stream);
        if (io)
                g_io_stream_close (io, NULL, NULL);
        return G_SOURCE_REMOVE;
}

static void
stream_reached_limit (Stream *stream)
{
        if (stream->kind == LIMIT_STALL) {
                stream_set_stalled (stream, TRUE);
                return;
        }
        /* Not from inside libsoup's write loop: stealing there would free the
         * I/O state it is still using. */
        GSource *idle = g_idle_source_new ();
        g_source_set_callback (idle, drop_connection, stream_ref (stream), stream_unref);
        g_source_attach (idle, stream->server->ctx);
        g_source_unref (idle);
}

/* A paced stream's next chunk is due. */
static gboolean
stream_paced (gpointer data)
{
        Stream *stream = data;

        stream->timer_pending = FALSE;
        if (stream->done)
                return G_SOURCE_REMOVE;
        stream_pump (stream);
        soup_server_message_unpause (stream->msg);
        return G_SOURCE_REMOVE;
}

/* With a rate, whether the byte at stream->pos may go out now; if not, the append is
 * scheduled for when it may (byte n of the body is due n / rate seconds after the headers). */
static gboolean
stream_may_send (Stream *stream)
{
        if (stream->rate == 0)
                return TRUE;
        gint64 now = g_get_monotonic_time ();
        if (stream->started == 0)
                stream->started = now;
        gint64 due = stream->started +
                     (gint64) ((stream->pos - stream->first) * G_USEC_PER_SEC / stream->rate);
        if (due <= now)
                return TRUE;
        if (!stream->timer_pending) {
                GSource *timer = g_timeout_source_new ((guint) ((due - now + 999) / 1000));
                g_source_set_callback (timer, stream_paced, stream_ref (stream), stream_unref);
                g_source_attach (timer, stream->server->ctx);
                g_source_unref (timer);
                stream->timer_pending = TRUE;
        }
        return FALSE;
}

/* Appends the next chunk, or notices the stop point. Called from
 * "wrote-headers" and "wrote-chunk", i.e. each time libsoup has written
 * everything appended so far. A paced stream sends a tenth of its rate at a time. */
static void
stream_pump (Stream *stream)
{
        gsize stop = MIN (stream->limit, stream->end);

        if (stream->pos < stop) {
                if (!stream_may_send (stream))
                        return;
                gsize most = stream->rate ? (gsize) CLAMP (stream->rate / 10, 1, CHUNK_SIZE) : CHUNK_SIZE;
                gsize len = MIN (most, stop - stream->pos);
                g_autoptr(GBytes) chunk = NULL;

                if (stream->endless) {
                        guint8 *buf = g_malloc (len);
                        http_pattern_fill (buf, stream->pos, len);
                        chunk = g_bytes_new_take (buf, len);
                } else
                        chunk = g_bytes_new_from_bytes (stream->content, stream->pos, len);

                soup_message_body_append_bytes (soup_server_message_get_response_body (stream->msg), chunk);
                stream->pos += len;
                return;
        }
        if (stream->pos < stream->end && stream->kind != LIMIT_NONE)
                stream_reached_limit (stream);
}

static void
on_wrote (SoupServerMessage *msg, gpointer data)
{
        stream_pump (data);
}

/* What really went out, not what was queued: a dropped or stalled response counts only the
 * bytes written before it stopped. */
static void
on_wrote_body_data (SoupServerMessage *msg, guint chunk_size, gpointer data)
{
        Stream *stream = data;
        HttpServer *self = stream->server;

        g_mutex_lock (&self->lock);
        resource_get (self, stream->path)->body_bytes += chunk_size;
        self->total_body_bytes += chunk_size;
        g_cond_broadcast (&self->cond);
        g_mutex_unlock (&self->lock);
}

static void
stream_start (HttpServer *self, const char *path, SoupServerMessage *msg,
              const Plan *plan, gsize start, gsize end)
{
        Stream *stream = g_atomic_rc_box_new0 (Stream);

        stream->server = self;
        stream->path = g_strdup (path);
        stream->msg = g_object_ref (msg);
        stream->content = g_bytes_ref (plan->content);
        stream->pos = start;
        stream->first = start;
        stream->rate = plan->rate;
        stream->endless = plan->endless;
        stream->end = end;
        stream->kind = plan->kind;
        stream->limit = plan->kind == LIMIT_NONE ? end : MIN (end, start + plan->limit);
        g_ptr_array_add (self->streams, stream);

        soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
        g_signal_connect (msg, "wrote-headers", G_CALLBACK (on_wrote), stream);
        g_signal_connect (msg, "wrote-chunk", G_CALLBACK (on_wrote), stream);
        g_signal_connect (msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data), stream);
        g_signal_connect (msg, "finished", G_CALLBACK (on_finished), stream);
}

typedef struct {
        HttpServer *server;
        char *path;
        gboolean drop;          /* the stalled responses end with their connection closed */
} ReleaseData;

static gboolean
release_in_thread (gpointer data)
{
        ReleaseData *rd = data;
        g_autoptr(GPtrArray) matching = g_ptr_array_new_with_free_func (stream_unref);

        /* Copy first: pumping may finish a stream and edit the array. */
        for (guint i = 0; i < rd->server->streams->len; i++) {
                Stream *stream = g_ptr_array_index (rd->server->streams, i);
                if (stream->kind == LIMIT_STALL && strcmp (stream->path, rd->path) == 0)
                        g_ptr_array_add (matching, stream_ref (stream));
        }
        for (guint i = 0; i < matching->len; i++) {
                Stream *stream = g_ptr_array_index (matching, i);
                gboolean was_stalled = stream->stalled;

                if (rd->drop) {
                        stream->kind = LIMIT_DROP;
                        stream_set_stalled (stream, FALSE);
                        if (was_stalled && !stream->done)
                                stream_reached_limit (stream);
                        continue;
                }
                stream->kind = LIMIT_NONE;
                stream->limit = stream->end;
                stream_set_stalled (stream, FALSE);
                if (was_stalled && !stream->done) {
                        stream_pump (stream);
                        soup_server_message_unpause (stream->msg);
                }
        }
        return G_SOURCE_REMOVE;
}

static void
release_data_free (gpointer data)
{
        ReleaseData *rd = data;

        g_free (rd->path);
        g_free (rd);
}

static void
release (HttpServer *self, const char *path, gboolean drop)
{
        ReleaseData *rd = g_new0 (ReleaseData, 1);

        g_mutex_lock (&self->lock);
        resource_get (self, path)->stall = FALSE;
        g_mutex_unlock (&self->lock);
        rd->server = self;
        rd->path = g_strdup (path);
        rd->drop = drop;
        g_main_context_invoke_full (self->ctx, G_PRIORITY_DEFAULT, release_in_thread,
                                    rd, release_data_free);
}

void
http_server_release (HttpServer *self, const char *path)
{
        release (self, path, FALSE);
}

void
http_server_drop_stalled (HttpServer *self, const char *path)
{
        release (self, path, TRUE);
}

/* ----------------------------------------------------------------- handler */

static void
respond_status (SoupServerMessage *msg, const Plan *plan)
{
        SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
        const char *reason = plan->reason ? plan->reason : soup_status_get_phrase (plan->status);
        g_autofree char *body = g_strdup_printf ("%u %s\n", plan->status, reason);

        soup_server_message_set_status (msg, plan->status, reason);
        if (plan->retry_after >= 0) {
                g_autofree char *value = g_strdup_printf ("%d", plan->retry_after);
                soup_message_headers_replace (resp, "Retry-After", value);
        }
        if (plan->location)
                soup_message_headers_replace (resp, "Location", plan->location);
        soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

/* The digest fields the test asked for, of the whole content or of the body
 * [start, end) sent, as HttpDigestMode says. */
static void
add_digest_fields (SoupMessageHeaders *resp, const Plan *plan, gsize start, gsize end)
{
        static const char *const names[] = { "Repr-Digest", "Content-Digest", "Digest" };

        for (guint f = 0; f < G_N_ELEMENTS (names); f++) {
                HttpDigestMode mode = plan->digests[f].mode;
                GChecksumType type = plan->digests[f].type;
                gboolean whole = (f != HTTP_DIGEST_CONTENT) != (mode == HTTP_DIGEST_SWAPPED);
                gsize from = whole ? 0 : start, to = whole ? g_bytes_get_size (plan->content) : end;
                guint8 digest[64];
                gsize len = sizeof digest;

                if (mode == HTTP_DIGEST_OFF)
                        continue;
                g_autoptr(GChecksum) sum = g_checksum_new (type);
                const guchar *data = g_bytes_get_data (plan->content, NULL);
                g_checksum_update (sum, data + from, (gssize) (to - from));
                g_checksum_get_digest (sum, digest, &len);
                if (mode == HTTP_DIGEST_WRONG)
                        digest[0] ^= 1;
                g_autofree char *b64 = g_base64_encode (digest, len);
                const char *algorithm = type == G_CHECKSUM_SHA256 ? "sha-256" : "sha-512";
                g_autofree char *value = f == HTTP_DIGEST_LEGACY
                        ? g_strdup_printf ("%s=%s", type == G_CHECKSUM_SHA256 ? "SHA-256" : "SHA-512", b64)
                        : g_strdup_printf ("%s=:%s:", algorithm, b64);
                soup_message_headers_replace (resp, names[f], value);
        }
}

static void
respond_content (HttpServer *self, const char *path, SoupServerMessage *msg, const Plan *plan)
{
        SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
        SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
        gsize size = g_bytes_get_size (plan->content);
        gsize start = 0, end = size;
        gboolean satisfiable = TRUE;
        gboolean ranged = !plan->ignore_range &&
                          if_range_matches (req, plan) &&
                          parse_range (soup_message_headers_get_one (req, "Range"), size,
                                       &start, &end, &satisfiable);

        for (guint i = 0; i + 1 < plan->extra_headers->len; i += 2)
                soup_message_headers_replace (resp, g_ptr_array_index (plan->extra_headers, i),
                                              g_ptr_array_index (plan->extra_headers, i + 1));
        soup_message_headers_replace (resp, "Accept-Ranges", plan->ignore_range ? "none" : "bytes");
        if (plan->etag)
                soup_message_headers_replace (resp, "ETag", plan->etag);
        if (plan->last_modified)
                soup_message_headers_replace (resp, "Last-Modified", plan->last_modified);
        if (not_modified_since (req, plan)) {
                soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
                return;
        }
        if (ranged && !satisfiable) {
                g_autofree char *cr = g_strdup_printf ("bytes */%" G_GSIZE_FORMAT, size);
                soup_message_headers_replace (resp, "Content-Range", cr);
                soup_server_message_set_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
                return;
        }
        soup_message_headers_set_content_type (resp, "application/octet-stream", NULL);
        if (plan->endless) {
                /* No length, no range: chunks until the client hangs up. */
                soup_message_headers_set_encoding (resp, SOUP_ENCODING_CHUNKED);
                soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
                if (soup_server_message_get_method (msg) == SOUP_METHOD_GET)
                        stream_start (self, path, msg, plan, 0, G_MAXSIZE);
                return;
        }
        if (ranged) {
                soup_message_headers_set_content_range (resp, start, end - 1, size);
                soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
        } else {
                soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        }
        soup_message_headers_set_content_length (resp, end - start);
        add_digest_fields (resp, plan, start, end);
        if (soup_server_message_get_method (msg) == SOUP_METHOD_GET)
                stream_start (self, path, msg, plan, start, end);
}

static void
handle_request (SoupServer *soup, SoupServerMessage *msg, const char *path,
                GHashTable *query, gpointer data)
{
        HttpServer *self = data;
        Plan plan = { 0 };
        const char *method = soup_server_message_get_method (msg);

        g_mutex_lock (&self->lock);
        Resource *res = resource_get (self, path);
        record_request (res, msg);
        plan_request (self, res, path, &plan);
        g_cond_broadcast (&self->cond);
        g_mutex_unlock (&self->lock);

        g_debug ("test httpd: %s %s", method, path);
        if (plan.hang) {
                /* No status: libsoup waits for us forever, the client sits
                 * with a sent request and no status line. */
                soup_server_message_pause (msg);
        } else if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
                soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
        } else if (!plan.content) {
                respond_status (msg, &plan);
        } else {
                respond_content (self, path, msg, &plan);
        }
        plan_clear (&plan);
}

/* ------------------------------------------------------------------ thread */

static gboolean
server_start (HttpServer *self, GError **error)
{
        g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
        g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->wanted_port);
        g_autoptr(GTlsCertificate) cert = NULL;

        if (self->tls_cert_file) {
                cert = g_tls_certificate_new_from_files (self->tls_cert_file, self->tls_key_file, error);
                if (!cert)
                        return FALSE;
        }
        self->soup = soup_server_new ("server-header", "xferd-test-httpd ", "tls-certificate", cert, NULL);
        soup_server_add_handler (self->soup, NULL, handle_request, self, NULL);
        if (!soup_server_listen (self->soup, address, cert ? SOUP_SERVER_LISTEN_HTTPS : 0, error))
                return FALSE;

        GSList *uris = soup_server_get_uris (self->soup);
        self->port = (guint16) g_uri_get_port (uris->data);
        g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
        return TRUE;
}

static void
server_stop (HttpServer *self)
{
        if (self->soup)
                soup_server_disconnect (self->soup);
        /* Streams still listed were cut off by the disconnect. */
        while (self->streams->len > 0)
                stream_finish (g_ptr_array_index (self->streams, 0));
        g_clear_object (&self->soup);
}

static gpointer
server_thread (gpointer data)
{
        HttpServer *self = data;
        GError *error = NULL;

        g_main_context_push_thread_default (self->ctx);
        gboolean ok = server_start (self, &error);

        g_mutex_lock (&self->lock);
        self->started = TRUE;
        self->start_error = error;
        g_cond_broadcast (&self->cond);
        g_mutex_unlock (&self->lock);

        if (ok)
                g_main_loop_run (self->loop);
        server_stop (self);
        g_main_context_pop_thread_default (self->ctx);
        return NULL;
}

static HttpServer *
server_new (guint16 port, const char *cert_file, const char *key_file, GError **error)
{
        HttpServer *self = g_new0 (HttpServer, 1);

        g_mutex_init (&self->lock);
        g_cond_init (&self->cond);
        self->resources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, resource_free);
        self->ctx = g_main_context_new ();
        self->loop = g_main_loop_new (self->ctx, FALSE);
        self->streams = g_ptr_array_new_with_free_func (stream_unref);
        self->wanted_port = port;
        self->tls_cert_file = g_strdup (cert_file);
        self->tls_key_file = g_strdup (key_file);
        self->thread = g_thread_new ("test-httpd", server_thread, self);

        g_mutex_lock (&self->lock);
        while (!self->started)
                g_cond_wait (&self->cond, &self->lock);
        g_mutex_unlock (&self->lock);

        if (self->start_error) {
                g_propagate_error (error, g_steal_pointer (&self->start_error));
                http_server_free (self);
                return NULL;
        }
        return self;
}

HttpServer *
http_server_new_on_port (guint16 port, GError **error)
{
        return server_new (port, NULL, NULL, error);
}

HttpServer *
http_server_new_tls (const char *cert_file, const char *key_file, GError **error)
{
        g_return_val_if_fail (cert_file && key_file, NULL);
        return server_new (0, cert_file, key_file, error);
}

HttpServer *
http_server_new (void)
{
        g_autoptr(GError) error = NULL;
        HttpServer *self = http_server_new_on_port (0, &error);

        if (!self)
                g_error ("test httpd: cannot listen: %s", error->message);
        return self;
}

static gboolean
quit_loop (gpointer data)
{
        g_main_loop_quit (data);
        return G_SOURCE_REMOVE;
}

void
http_server_free (HttpServer *self)
{
        if (!self)
                return;
        /* Through the context, not g_main_loop_quit() directly: a quit that
         * arrives before the thread entered g_main_loop_run() would be lost. */
        g_main_context_invoke (self->ctx, quit_loop, self->loop);
        g_thread_join (self->thread);
        g_ptr_array_unref (self->streams);
        g_main_loop_unref (self->loop);
        g_main_context_unref (self->ctx);
        g_hash_table_unref (self->resources);
        g_free (self->root);
        g_free (self->tls_cert_file);
        g_free (self->tls_key_file);
        g_clear_error (&self->start_error);
        g_mutex_clear (&self->lock);
        g_cond_clear (&self->cond);
        g_free (self);
}

guint16
http_server_get_port (HttpServer *self)
{
        return self->port;
}

char *
http_server_url (HttpServer *self, const char *path)
{
        return g_strdup_printf ("%s://127.0.0.1:%u%s", self->tls_cert_file ? "https" : "http",
                                self->port, path);
}

void
http_server_set_root (HttpServer *self, const char *dir)
{
        g_mutex_lock (&self->lock);
        g_free (self->root);
        self->root = g_strdup (dir);
        g_mutex_unlock (&self->lock);
}
