/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-test of the test HTTP server: every fault the integration tests rely
 * on (status, Range, stall, hang, drop, rate) is checked here with a raw socket
 * client, so a broken fixture shows up as itself and not as a daemon bug.
 */
#include <string.h>
#include <utime.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "http-server.h"
#include "test-cases.h"

#define SIZE (300 * 1024 + 17)    /* several chunks, not a round number */

typedef struct {
        GSocketConnection *conn;
        guint status;
        GHashTable *headers;      /* lower-case name → value */
        GByteArray *body;
        gboolean eof;
} Raw;

static void
raw_free (Raw *raw)
{
        g_clear_object (&raw->conn);
        g_clear_pointer (&raw->headers, g_hash_table_unref);
        g_clear_pointer (&raw->body, g_byte_array_unref);
        g_free (raw);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

/* Sends one request; extra_headers are full "Name: value\r\n" lines. */
static Raw *
raw_request (HttpServer *server, const char *method, const char *path, const char *extra_headers)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocketClient) client = g_socket_client_new ();
        Raw *raw = g_new0 (Raw, 1);

        g_socket_client_set_timeout (client, 10);
        raw->conn = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                     http_server_get_port (server), NULL, &error);
        g_assert_no_error (error);
        raw->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        raw->body = g_byte_array_new ();

        g_autofree char *req = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                                                "Connection: close\r\n\r\n",
                                                method, path, extra_headers ? extra_headers : "");
        GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (raw->conn));
        g_output_stream_write_all (out, req, strlen (req), NULL, NULL, &error);
        g_assert_no_error (error);
        return raw;
}

static gssize
raw_read_some (Raw *raw, guint8 *buf, gsize size)
{
        g_autoptr(GError) error = NULL;
        GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (raw->conn));
        gssize n = g_input_stream_read (in, buf, size, NULL, &error);

        /* A reset after a drop is an end of stream too. */
        if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) &&
            !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
                g_assert_no_error (error);
        if (n <= 0)
                raw->eof = TRUE;
        return MAX (n, 0);
}

static void
raw_parse_head (Raw *raw, const char *head)
{
        g_auto(GStrv) lines = g_strsplit (head, "\r\n", -1);

        g_assert_true (g_str_has_prefix (lines[0], "HTTP/1.1 "));
        raw->status = (guint) g_ascii_strtoull (lines[0] + 9, NULL, 10);
        for (guint i = 1; lines[i] && *lines[i]; i++) {
                char *colon = strchr (lines[i], ':');
                g_assert_nonnull (colon);
                *colon = '\0';
                g_hash_table_replace (raw->headers, g_ascii_strdown (lines[i], -1),
                                      g_strdup (g_strstrip (colon + 1)));
        }
}

/* Reads the status line and headers; body bytes read with them are kept. */
static void
raw_read_head (Raw *raw)
{
        g_autoptr(GByteArray) buf = g_byte_array_new ();
        guint8 chunk[4096];

        for (;;) {
                gssize n = raw_read_some (raw, chunk, sizeof chunk);
                g_assert_cmpint (n, >, 0);
                g_byte_array_append (buf, chunk, (guint) n);
                const char *end = g_strstr_len ((char *) buf->data, buf->len, "\r\n\r\n");
                if (!end)
                        continue;
                gsize head_len = (gsize) (end - (char *) buf->data) + 4;
                g_autofree char *head = g_strndup ((char *) buf->data, head_len);
                raw_parse_head (raw, head);
                g_byte_array_append (raw->body, buf->data + head_len, buf->len - (guint) head_len);
                return;
        }
}

/* Reads until the body holds n bytes or the stream ends. */
static void
raw_read_body (Raw *raw, gsize n)
{
        guint8 chunk[65536];

        while (raw->body->len < n && !raw->eof) {
                gssize got = raw_read_some (raw, chunk, MIN (sizeof chunk, n - raw->body->len));
                g_byte_array_append (raw->body, chunk, (guint) got);
        }
}

static void
raw_read_to_eof (Raw *raw)
{
        raw_read_body (raw, G_MAXSIZE);
}

/* raw_request(), and the whole response: its head, and its body up to the end of the
 * connection. */
static Raw *
raw_response (HttpServer *server, const char *method, const char *path, const char *extra_headers)
{
        Raw *raw = raw_request (server, method, path, extra_headers);

        raw_read_head (raw);
        raw_read_to_eof (raw);
        return raw;
}

static const char *
raw_header (Raw *raw, const char *name)
{
        return g_hash_table_lookup (raw->headers, name);
}

/* Nothing more arrives for a short while: a check of a stall, not a wait
 * for one (the stall itself was confirmed by the server). */
static void
assert_no_data_for_a_while (Raw *raw)
{
        g_autoptr(GError) error = NULL;
        GSocket *socket = g_socket_connection_get_socket (raw->conn);

        g_assert_false (g_socket_condition_timed_wait (socket, G_IO_IN, 200 * 1000, NULL, &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

static void
assert_pattern (GByteArray *body, guint64 offset, gsize len)
{
        g_autofree guint8 *expected = g_malloc (len ? len : 1);

        http_pattern_fill (expected, offset, len);
        g_assert_cmpmem (body->data, body->len, expected, len);
}

/* A server with SIZE generated bytes at /f and, if g_size, g_size bytes at /g; bodies are
 * checked with assert_pattern(). */
static HttpServer *
server_with_files (gsize g_size)
{
        HttpServer *server = http_server_new ();

        g_bytes_unref (http_server_add_generated (server, "/f", SIZE));
        if (g_size)
                g_bytes_unref (http_server_add_generated (server, "/g", g_size));
        return server;
}

static void
test_full_body (void)
{
        g_autoptr(HttpServer) server = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (server, "/f", SIZE);
        http_server_set_validators (server, "/f", "\"v1\"", NULL);

        g_autoptr(Raw) raw = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpuint (raw->status, ==, 200);
        g_assert_cmpstr (raw_header (raw, "accept-ranges"), ==, "bytes");
        g_assert_cmpstr (raw_header (raw, "etag"), ==, "\"v1\"");
        g_assert_cmpuint (g_ascii_strtoull (raw_header (raw, "content-length"), NULL, 10), ==, SIZE);
        g_assert_cmpmem (raw->body->data, raw->body->len,
                         g_bytes_get_data (content, NULL), g_bytes_get_size (content));
        g_assert_cmpuint (http_server_request_count (server, "/f"), ==, 1);
        g_assert_cmpuint (http_server_request_count (server, "/other"), ==, 0);
}

static void
test_head (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);

        g_autoptr(Raw) raw = raw_response (server, "HEAD", "/f", NULL);
        g_assert_cmpuint (raw->status, ==, 200);
        g_assert_cmpuint (g_ascii_strtoull (raw_header (raw, "content-length"), NULL, 10), ==, SIZE);
        g_assert_cmpuint (raw->body->len, ==, 0);
}

static void
test_range (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);

        g_autoptr(Raw) open_ended = raw_response (server, "GET", "/f", "Range: bytes=1000-\r\n");
        g_assert_cmpuint (open_ended->status, ==, 206);
        g_autofree char *cr = g_strdup_printf ("bytes 1000-%u/%u", SIZE - 1, SIZE);
        g_assert_cmpstr (raw_header (open_ended, "content-range"), ==, cr);
        assert_pattern (open_ended->body, 1000, SIZE - 1000);
        g_autofree char *seen = http_server_last_header (server, "/f", "Range");
        g_assert_cmpstr (seen, ==, "bytes=1000-");

        g_autoptr(Raw) closed = raw_response (server, "GET", "/f", "Range: bytes=10-19\r\n");
        g_assert_cmpuint (closed->status, ==, 206);
        assert_pattern (closed->body, 10, 10);

        g_autofree char *past = g_strdup_printf ("Range: bytes=%u-\r\n", SIZE);
        g_autoptr(Raw) unsatisfiable = raw_request (server, "GET", "/f", past);
        raw_read_head (unsatisfiable);
        g_assert_cmpuint (unsatisfiable->status, ==, 416);
        g_autofree char *star = g_strdup_printf ("bytes */%u", SIZE);
        g_assert_cmpstr (raw_header (unsatisfiable, "content-range"), ==, star);
        g_assert_cmpuint (http_server_request_count (server, "/f"), ==, 3);
}

static void
test_ignore_range (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);
        http_server_set_ignore_range (server, "/f", TRUE);

        g_autoptr(Raw) raw = raw_response (server, "GET", "/f", "Range: bytes=1000-\r\n");
        g_assert_cmpuint (raw->status, ==, 200);
        g_assert_null (raw_header (raw, "content-range"));
        assert_pattern (raw->body, 0, SIZE);
}

static void
test_if_range (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);
        http_server_set_validators (server, "/f", "\"v2\"", NULL);

        g_autoptr(Raw) stale = raw_response (server, "GET", "/f", "Range: bytes=5-\r\nIf-Range: \"v1\"\r\n");
        g_assert_cmpuint (stale->status, ==, 200);
        assert_pattern (stale->body, 0, SIZE);

        g_autoptr(Raw) fresh = raw_response (server, "GET", "/f", "Range: bytes=5-\r\nIf-Range: \"v2\"\r\n");
        g_assert_cmpuint (fresh->status, ==, 206);
        assert_pattern (fresh->body, 5, SIZE - 5);
}

static void
test_status (void)
{
        g_autoptr(HttpServer) server = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (server, "/f", 100);
        http_server_fail (server, "/f", 503, "Busy Now", 7, 1);

        g_autoptr(Raw) first = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpuint (first->status, ==, 503);
        g_assert_cmpstr (raw_header (first, "retry-after"), ==, "7");

        g_autoptr(Raw) second = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpuint (second->status, ==, 200);
        assert_pattern (second->body, 0, 100);

        g_autoptr(Raw) missing = raw_request (server, "GET", "/missing", NULL);
        raw_read_head (missing);
        g_assert_cmpuint (missing->status, ==, 404);
        g_assert_cmpuint (http_server_request_count (server, "/missing"), ==, 1);

        g_assert_cmpint (http_server_request_time (server, "/f", 0), >, 0);
        g_assert_cmpint (http_server_request_time (server, "/f", 1), >=,
                         http_server_request_time (server, "/f", 0));
        g_assert_cmpint (http_server_request_time (server, "/f", 2), ==, -1);
}

static void
test_redirect (void)
{
        g_autoptr(HttpServer) server = http_server_new ();
        http_server_redirect (server, "/old", 302, "file:///etc/passwd");

        g_autoptr(Raw) raw = raw_request (server, "GET", "/old", NULL);
        raw_read_head (raw);
        g_assert_cmpuint (raw->status, ==, 302);
        g_assert_cmpstr (raw_header (raw, "location"), ==, "file:///etc/passwd");
}

static void
test_stall (void)
{
        const gsize stall = 100000;
        g_autoptr(HttpServer) server = server_with_files (10);
        http_server_stall_after (server, "/f", stall);

        g_autoptr(Raw) raw = raw_request (server, "GET", "/f", NULL);
        raw_read_head (raw);
        g_assert_cmpuint (raw->status, ==, 200);
        raw_read_body (raw, stall);
        g_assert_cmpuint (raw->body->len, ==, stall);
        g_assert_true (http_server_wait_stalled (server, "/f", 1, 5000));
        assert_no_data_for_a_while (raw);

        /* A stalled response does not block the server. */
        g_autoptr(Raw) parallel = raw_response (server, "GET", "/g", NULL);
        g_assert_cmpuint (parallel->status, ==, 200);

        http_server_release (server, "/f");
        raw_read_to_eof (raw);
        assert_pattern (raw->body, 0, SIZE);
        g_assert_cmpuint (http_server_stalled_count (server, "/f"), ==, 0);
}

static void
test_stall_at_zero (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);
        http_server_stall_after (server, "/f", 0);

        g_autoptr(Raw) raw = raw_request (server, "GET", "/f", NULL);
        raw_read_head (raw);
        g_assert_cmpuint (raw->status, ==, 200);
        g_assert_cmpuint (raw->body->len, ==, 0);
        g_assert_true (http_server_wait_stalled (server, "/f", 1, 5000));
        http_server_release (server, "/f");
        raw_read_to_eof (raw);
        assert_pattern (raw->body, 0, SIZE);
}

static void
test_hang (void)
{
        HttpServer *server = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (server, "/f", 10);
        http_server_hang (server, "/f", 1);

        g_autoptr(Raw) raw = raw_request (server, "GET", "/f", NULL);
        g_assert_true (http_server_wait_requests (server, "/f", 1, 5000));
        assert_no_data_for_a_while (raw);

        /* Only once: the next request is answered. */
        g_autoptr(Raw) next = raw_request (server, "GET", "/f", NULL);
        raw_read_head (next);
        g_assert_cmpuint (next->status, ==, 200);

        /* Stopping the server ends the hung request without a status line. */
        http_server_free (server);
        guint8 buf[16];
        g_assert_cmpint (raw_read_some (raw, buf, sizeof buf), ==, 0);
}

static void
test_drop (void)
{
        const gsize drop = 70000;
        g_autoptr(HttpServer) server = server_with_files (0);
        http_server_drop_after (server, "/f", drop, 1);

        g_autoptr(Raw) raw = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpuint (raw->status, ==, 200);
        g_assert_cmpuint (g_ascii_strtoull (raw_header (raw, "content-length"), NULL, 10), ==, SIZE);
        assert_pattern (raw->body, 0, drop);

        g_autoptr(Raw) again = raw_response (server, "GET", "/f", "Range: bytes=70000-\r\n");
        g_assert_cmpuint (again->status, ==, 206);
        assert_pattern (again->body, drop, SIZE - drop);
}

/* A new temporary directory for http_server_set_root() holding one file, name, with contents:
 * the directory; *file, the file's path. */
static char *
root_with_file (const char *name, const char *contents, char **file)
{
        g_autoptr(GError) error = NULL;
        char *dir = g_dir_make_tmp ("xferd-httpd-XXXXXX", &error);

        g_assert_no_error (error);
        *file = g_build_filename (dir, name, NULL);
        g_file_set_contents (*file, contents, -1, &error);
        g_assert_no_error (error);
        return dir;
}

static void
test_root (void)
{
        g_autofree char *file = NULL;
        g_autofree char *dir = root_with_file ("hello.txt", "hello, world\n", &file);
        g_autoptr(HttpServer) server = http_server_new ();
        http_server_set_root (server, dir);

        g_autoptr(Raw) raw = raw_response (server, "GET", "/hello.txt", "Range: bytes=7-\r\n");
        g_assert_cmpuint (raw->status, ==, 206);
        g_assert_cmpmem (raw->body->data, raw->body->len, "world\n", 6);

        g_autoptr(Raw) escape = raw_request (server, "GET", "/../etc/passwd", NULL);
        raw_read_head (escape);
        g_assert_cmpuint (escape->status, !=, 200);

        g_unlink (file);
        g_rmdir (dir);
}

/* base64 of the digest of bytes [from, to) of content. */
static char *
digest_b64 (GBytes *content, GChecksumType type, gsize from, gsize to)
{
        g_autoptr(GChecksum) sum = g_checksum_new (type);
        guint8 digest[64];
        gsize len = sizeof digest;

        g_checksum_update (sum, (const guchar *) g_bytes_get_data (content, NULL) + from, (gssize) (to - from));
        g_checksum_get_digest (sum, digest, &len);
        return g_base64_encode (digest, len);
}

static void
test_extra_headers (void)
{
        g_autoptr(HttpServer) server = server_with_files (0);

        http_server_set_header (server, "/f", "Content-Encoding", "gzip");
        http_server_set_header (server, "/f", "X-One", "1");
        http_server_set_header (server, "/f", "x-one", "2");  /* replaces, whatever the case */
        g_autoptr(Raw) raw = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpstr (raw_header (raw, "content-encoding"), ==, "gzip");
        g_assert_cmpstr (raw_header (raw, "x-one"), ==, "2");
        g_assert_cmpuint (raw->body->len, ==, SIZE);

        http_server_set_header (server, "/f", "X-One", NULL);
        g_autoptr(Raw) again = raw_request (server, "GET", "/f", NULL);
        raw_read_head (again);
        g_assert_null (raw_header (again, "x-one"));
}

static void
test_digests (void)
{
        g_autoptr(HttpServer) server = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (server, "/f", SIZE);
        g_autofree char *whole256 = digest_b64 (content, G_CHECKSUM_SHA256, 0, SIZE);
        g_autofree char *whole512 = digest_b64 (content, G_CHECKSUM_SHA512, 0, SIZE);
        g_autofree char *range256 = digest_b64 (content, G_CHECKSUM_SHA256, 1000, SIZE);

        /* None until asked for. */
        g_autoptr(Raw) plain = raw_request (server, "GET", "/f", NULL);
        raw_read_head (plain);
        g_assert_null (raw_header (plain, "repr-digest"));
        g_assert_null (raw_header (plain, "content-digest"));
        g_assert_null (raw_header (plain, "digest"));

        http_server_send_digest (server, "/f", HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        http_server_send_digest (server, "/f", HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        http_server_send_digest (server, "/f", HTTP_DIGEST_LEGACY, G_CHECKSUM_SHA512, HTTP_DIGEST_RIGHT);
        g_autoptr(Raw) full = raw_request (server, "GET", "/f", NULL);
        raw_read_head (full);
        g_autofree char *repr = g_strdup_printf ("sha-256=:%s:", whole256);
        g_autofree char *legacy = g_strdup_printf ("SHA-512=%s", whole512);
        g_assert_cmpstr (raw_header (full, "repr-digest"), ==, repr);
        g_assert_cmpstr (raw_header (full, "content-digest"), ==, repr);
        g_assert_cmpstr (raw_header (full, "digest"), ==, legacy);

        /* On a 206: Repr-Digest and Digest still of the whole, Content-Digest of the range. */
        g_autoptr(Raw) partial = raw_request (server, "GET", "/f", "Range: bytes=1000-\r\n");
        raw_read_head (partial);
        g_assert_cmpuint (partial->status, ==, 206);
        g_autofree char *content_range = g_strdup_printf ("sha-256=:%s:", range256);
        g_assert_cmpstr (raw_header (partial, "repr-digest"), ==, repr);
        g_assert_cmpstr (raw_header (partial, "content-digest"), ==, content_range);
        g_assert_cmpstr (raw_header (partial, "digest"), ==, legacy);

        /* A confused server swaps the scopes: only a 206 shows it. */
        http_server_send_digest (server, "/f", HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, HTTP_DIGEST_SWAPPED);
        http_server_send_digest (server, "/f", HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_SWAPPED);
        g_autoptr(Raw) swapped = raw_request (server, "GET", "/f", "Range: bytes=1000-\r\n");
        raw_read_head (swapped);
        g_assert_cmpstr (raw_header (swapped, "repr-digest"), ==, content_range);
        g_assert_cmpstr (raw_header (swapped, "content-digest"), ==, repr);

        /* Wrong: a digest of the right size that does not match. */
        http_server_send_digest (server, "/f", HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, HTTP_DIGEST_WRONG);
        http_server_send_digest (server, "/f", HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_OFF);
        http_server_send_digest (server, "/f", HTTP_DIGEST_LEGACY, G_CHECKSUM_SHA256, HTTP_DIGEST_OFF);
        g_autoptr(Raw) wrong = raw_request (server, "GET", "/f", NULL);
        raw_read_head (wrong);
        const char *w = raw_header (wrong, "repr-digest");
        g_assert_nonnull (w);
        g_assert_cmpuint (strlen (w), ==, strlen (repr));
        g_assert_cmpstr (w, !=, repr);
        g_assert_null (raw_header (wrong, "content-digest"));
        g_assert_null (raw_header (wrong, "digest"));
}

static void
test_checksum_list (void)
{
        g_autoptr(HttpServer) server = http_server_new ();
        g_autoptr(GBytes) a = http_server_add_generated (server, "/dir/a.iso", 100);
        g_autoptr(GBytes) b = http_server_add_generated (server, "/b.raw", 200);
        const char *const paths[] = { "/dir/a.iso", "/b.raw", NULL };
        g_autoptr(GBytes) list = http_server_checksum_list (server, G_CHECKSUM_SHA256, paths);
        g_autofree char *ha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, a);
        g_autofree char *hb = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, b);
        g_autofree char *want = g_strdup_printf ("%s  a.iso\n%s  b.raw\n", ha, hb);

        g_assert_cmpmem (g_bytes_get_data (list, NULL), g_bytes_get_size (list), want, strlen (want));
}

/* A paced body arrives whole and never ahead of its rate: byte n no earlier than n / rate
 * seconds after the first (a lower bound, so no timing can make this flaky). */
static void
test_rate (void)
{
        const guint64 rate = 512 * 1024;
        const gsize chunk = rate / 10;
        g_autoptr(HttpServer) server = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (server, "/slow", SIZE);
        http_server_set_rate (server, "/slow", rate);

        /* Taken before the request, so never later than the server's start of pacing. */
        gint64 start = g_get_monotonic_time ();
        g_autoptr(Raw) raw = raw_request (server, "GET", "/slow", "Range: bytes=1000-\r\n");
        raw_read_head (raw);
        while (!raw->eof && raw->body->len < SIZE - 1000) {
                raw_read_body (raw, raw->body->len + 1);
                /* Bytes beyond the first chunk (sent at once) can only have arrived n / rate
                 * seconds after the start. */
                gsize paced = raw->body->len > chunk ? raw->body->len - chunk : 0;
                g_assert_cmpint (g_get_monotonic_time () - start, >=,
                                 (gint64) (paced * G_USEC_PER_SEC / rate));
        }
        g_assert_cmpuint (raw->status, ==, 206);
        assert_pattern (raw->body, 1000, SIZE - 1000);

        /* A rate of 0 is no limit again. */
        http_server_set_rate (server, "/slow", 0);
        g_autoptr(Raw) fast = raw_response (server, "GET", "/slow", NULL);
        assert_pattern (fast->body, 0, SIZE);
}

/* Files under the root carry their modification time as Last-Modified, and If-Modified-Since
 * gets a 304 unless the file is newer (the apt tests rely on both). */
static void
test_root_if_modified_since (void)
{
        g_autofree char *file = NULL;
        g_autofree char *dir = root_with_file ("Release", "Suite: test\n", &file);
        struct utimbuf times = { .actime = 1000000000, .modtime = 1000000000 };   /* 2001-09-09 01:46:40 */
        g_assert_no_errno (g_utime (file, &times));
        g_autoptr(HttpServer) server = http_server_new ();
        http_server_set_root (server, dir);

        g_autoptr(Raw) plain = raw_response (server, "GET", "/Release", NULL);
        g_assert_cmpuint (plain->status, ==, 200);
        g_assert_cmpstr (g_hash_table_lookup (plain->headers, "last-modified"), ==, "Sun, 09 Sep 2001 01:46:40 GMT");

        /* The same date, and a later one: not modified, no body. */
        const char *not_older[] = { "Sun, 09 Sep 2001 01:46:40 GMT", "Mon, 10 Sep 2001 00:00:00 GMT" };
        for (guint i = 0; i < G_N_ELEMENTS (not_older); i++) {
                g_autofree char *ims = g_strdup_printf ("If-Modified-Since: %s\r\n", not_older[i]);
                g_autoptr(Raw) raw = raw_response (server, "GET", "/Release", ims);
                g_assert_cmpuint (raw->status, ==, 304);
                g_assert_cmpuint (raw->body->len, ==, 0);
        }

        /* An older copy gets the file. */
        g_autoptr(Raw) older = raw_response (server, "GET", "/Release",
                                             "If-Modified-Since: Sat, 08 Sep 2001 00:00:00 GMT\r\n");
        g_assert_cmpuint (older->status, ==, 200);
        g_assert_cmpmem (older->body->data, older->body->len, "Suite: test\n", 12);

        g_unlink (file);
        g_rmdir (dir);
}

/* The counter of body bytes counts what went out, whatever the response. */
static void
test_body_bytes (void)
{
        const gsize drop = 70000;
        g_autoptr(HttpServer) server = server_with_files (1000);

        g_autoptr(Raw) full = raw_response (server, "GET", "/f", NULL);
        g_assert_true (http_server_wait_body_bytes (server, "/f", SIZE, 10000));

        g_autoptr(Raw) head = raw_response (server, "HEAD", "/f", NULL);

        g_autoptr(Raw) range = raw_response (server, "GET", "/f", "Range: bytes=1000-\r\n");
        g_assert_cmpuint (range->status, ==, 206);
        g_assert_true (http_server_wait_body_bytes (server, "/f", 2 * SIZE - 1000, 10000));

        http_server_drop_after (server, "/f", drop, 1);
        g_autoptr(Raw) dropped = raw_response (server, "GET", "/f", NULL);
        g_assert_cmpuint (dropped->body->len, ==, drop);
        g_assert_true (http_server_wait_body_bytes (server, "/f", 2 * SIZE - 1000 + drop, 10000));

        g_autoptr(Raw) small = raw_response (server, "GET", "/g", NULL);
        g_assert_true (http_server_wait_body_bytes (server, "/g", 1000, 10000));

        /* Exactly, not at least: nothing was counted twice. */
        g_assert_cmpuint (http_server_body_bytes (server, "/f"), ==, 2 * SIZE - 1000 + drop);
        g_assert_cmpuint (http_server_body_bytes (server, "/g"), ==, 1000);
        g_assert_cmpuint (http_server_body_bytes (server, "/none"), ==, 0);
        g_assert_cmpuint (http_server_total_body_bytes (server), ==, 2 * SIZE - 1000 + drop + 1000);
        g_assert_false (http_server_wait_body_bytes (server, "/g", 1001, 50));
}

const TestCase test_cases[] = {
        { "/httpd/full-body", test_full_body },
        { "/httpd/head", test_head },
        { "/httpd/range", test_range },
        { "/httpd/ignore-range", test_ignore_range },
        { "/httpd/if-range", test_if_range },
        { "/httpd/status", test_status },
        { "/httpd/redirect", test_redirect },
        { "/httpd/stall", test_stall },
        { "/httpd/stall-at-zero", test_stall_at_zero },
        { "/httpd/hang", test_hang },
        { "/httpd/drop", test_drop },
        { "/httpd/root", test_root },
        { "/httpd/extra-headers", test_extra_headers },
        { "/httpd/digests", test_digests },
        { "/httpd/checksum-list", test_checksum_list },
        { "/httpd/root-if-modified-since", test_root_if_modified_since },
        { "/httpd/rate", test_rate },
        { "/httpd/body-bytes", test_body_bytes },
        { NULL, NULL }
};
