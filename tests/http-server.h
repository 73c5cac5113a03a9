/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A controllable HTTP/1.1 server for the tests.
 *
 * It runs libsoup in a thread of its own with its own GMainContext, so a test
 * may block (waiting for a file, a D-Bus reply, ...) while the server keeps
 * answering. Every function here is safe to call from any thread.
 *
 * Each path is a "resource" with content and a behaviour: fail with a status
 * for the next K requests, hang without answering, stall or drop the
 * connection after N body bytes, ignore Range. Fault points are byte counts,
 * never timings, so a test can wait for them deterministically.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct HttpServer HttpServer;

/* "times" value for behaviours that apply to every request until changed. */
#define HTTP_SERVER_FOREVER G_MAXUINT

/* Listens on 127.0.0.1; port 0 picks an ephemeral port. Aborts on failure
 * when created with http_server_new(). */
HttpServer *http_server_new (void);
HttpServer *http_server_new_on_port (guint16 port, GError **error);
/* An https server on an ephemeral port with the certificate (chain) and key in
 * these PEM files (tls-ca.h makes them); http_server_url() then says https. */
HttpServer *http_server_new_tls (const char *cert_file, const char *key_file, GError **error);
void http_server_free (HttpServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HttpServer, http_server_free)

guint16 http_server_get_port (HttpServer *server);
/* "http://127.0.0.1:PORT" + path (path starts with '/'); https for a TLS server. */
char *http_server_url (HttpServer *server, const char *path);

/* Paths without a resource are served from files under dir (GET/HEAD, with
 * Range support, the file's modification time as Last-Modified); NULL turns that
 * off. A request whose If-Modified-Since is not older than a content's
 * Last-Modified gets a 304 (root files and resources with validators alike). */
void http_server_set_root (HttpServer *server, const char *dir);

/* Content. */
void http_server_add_bytes (HttpServer *server, const char *path, GBytes *content);
/* Adds size bytes of the deterministic pattern (see http_pattern_fill) and
 * returns them (transfer full) so the test can compare byte for byte. */
GBytes *http_server_add_generated (HttpServer *server, const char *path, gsize size);
/* Validators sent with the content; NULL for none. If-Range is honoured. Until a test sets
 * them, every content gets an ETag of its own (a hash of it), as a static file server does. */
void http_server_set_validators (HttpServer *server, const char *path,
                                 const char *etag, const char *last_modified);

/* Behaviours. */
/* Answer the next `times` requests with status (reason may be NULL for the
 * standard phrase; retry_after < 0 sends no Retry-After). */
void http_server_fail (HttpServer *server, const char *path, guint status,
                       const char *reason, int retry_after, guint times);
/* Answer Range requests with 200 and the whole content. */
void http_server_set_ignore_range (HttpServer *server, const char *path, gboolean ignore);
/* Every response on path sends its headers and `bytes` body bytes, then
 * pauses until http_server_release() (or the server stops). */
void http_server_stall_after (HttpServer *server, const char *path, gsize bytes);
/* Ends the stall behaviour of path and lets stalled responses finish. */
void http_server_release (HttpServer *server, const char *path);
/* Ends the stall behaviour of path and closes the connections of the stalled responses: they
 * end truncated where they stalled. */
void http_server_drop_stalled (HttpServer *server, const char *path);
/* Send the bodies of later responses on path at bytes_per_second (0: no limit), a tenth
 * of a second's worth at a time; combines with the stall and drop points. */
void http_server_set_rate (HttpServer *server, const char *path, guint64 bytes_per_second);
/* Answer GET on path (it needs content, which only makes it exist) with 200, no
 * Content-Length and a chunked body of the pattern that never ends. */
void http_server_set_endless (HttpServer *server, const char *path, gboolean endless);
/* Read the next `times` requests but never send a status line. */
void http_server_hang (HttpServer *server, const char *path, guint times);
/* The next `times` responses send headers and `bytes` body bytes, then the
 * connection is closed (the response is truncated). */
void http_server_drop_after (HttpServer *server, const char *path, gsize bytes, guint times);

/* Answer every request on path with a redirect (301, 302, 303, 307, 308)
 * to location; NULL location ends it. */
void http_server_redirect (HttpServer *server, const char *path, guint status, const char *location);

/* Extra response headers. */
/* Sends "name: value" with every response that carries the content of path
 * (200, 206, 416); a NULL value stops it. */
void http_server_set_header (HttpServer *server, const char *path, const char *name, const char *value);

typedef enum {
        HTTP_DIGEST_REPR,         /* Repr-Digest: sha-256=:…: of the whole content (RFC 9530) */
        HTTP_DIGEST_CONTENT,      /* Content-Digest: of the body actually sent (the range of a 206) */
        HTTP_DIGEST_LEGACY,       /* Digest: SHA-256=… of the whole content (RFC 3230) */
} HttpDigestField;

typedef enum {
        HTTP_DIGEST_OFF,
        HTTP_DIGEST_RIGHT,
        HTTP_DIGEST_WRONG,        /* the right digest with one bit flipped */
        HTTP_DIGEST_SWAPPED,      /* of the wrong scope: Repr-Digest and Digest of the body
                                   * sent, Content-Digest of the whole content (the same on a
                                   * 200, wrong on a 206: a confused server) */
} HttpDigestMode;

/* Computes the field from the content for every response on path (also on
 * 206); type is G_CHECKSUM_SHA256 or G_CHECKSUM_SHA512. Several fields may be
 * on at once; setting a field again replaces its type and mode. */
void http_server_send_digest (HttpServer *server, const char *path, HttpDigestField field,
                              GChecksumType type, HttpDigestMode mode);

/* A checksum list (SHA256SUMS or SHA512SUMS format: "<hex>  <name>\n") of
 * the contents of the given resources, each listed by the last component of
 * its path. Serve it (and a signature) with http_server_add_bytes(). */
GBytes *http_server_checksum_list (HttpServer *server, GChecksumType type, const char *const *paths);

/* Observations. */
guint http_server_request_count (HttpServer *server, const char *path);
/* A header of the last request on path, or NULL (transfer full). */
char *http_server_last_header (HttpServer *server, const char *path, const char *name);
/* g_get_monotonic_time() when request number `index` (0-based) arrived, or -1. */
gint64 http_server_request_time (HttpServer *server, const char *path, guint index);
/* Number of responses on path currently paused at their stall point. */
guint http_server_stalled_count (HttpServer *server, const char *path);
/* Body bytes written to the network for path, all responses together (what a
 * cache in front of the server did not spare it); and for every path. */
guint64 http_server_body_bytes (HttpServer *server, const char *path);
guint64 http_server_total_body_bytes (HttpServer *server);

/* Waits (blocking the caller, not the server) until the condition holds;
 * FALSE on timeout. */
gboolean http_server_wait_requests (HttpServer *server, const char *path,
                                    guint n, guint timeout_ms);
gboolean http_server_wait_stalled (HttpServer *server, const char *path,
                                   guint n, guint timeout_ms);
gboolean http_server_wait_body_bytes (HttpServer *server, const char *path,
                                      guint64 n, guint timeout_ms);

/* The pattern: byte i of every generated resource, independent of where a
 * range starts, so partial downloads can be checked too. */
void http_pattern_fill (guint8 *buf, guint64 offset, gsize len);
GBytes *http_pattern_bytes (gsize size);

G_END_DECLS
