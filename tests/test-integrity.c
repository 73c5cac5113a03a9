/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Verified downloads end to end through the real xferd: expected checksums
 * (sha256, sha512, either case) and sizes, malformed options, mirrors, a
 * resume after kill -9 that hashes the bytes held, the digests a server sends
 * (Repr-Digest, Content-Digest, Digest, also on a 206), signed checksum lists
 * checked with gpgv against a key this test makes, and Cancel while bytes
 * held are being hashed. A wrong file never reaches its destination.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "openpgp-key.h"
#include "secret-check.h"
#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (512 * 1024 + 17)
#define STALL (128 * 1024)
/* A body of several of the writer's 1 MiB buffers. */
#define LARGE (12 * 1024 * 1024 + 5)
#define INTEGRITY XFERD_ERROR ("Integrity")

/* ---------------------------------------------------------------- helpers */

static char *
hex_of (GBytes *content, GChecksumType type)
{
        return g_compute_checksum_for_bytes (type, content);
}

static char *
checksum_of (GBytes *content, GChecksumType type)
{
        g_autofree char *hex = hex_of (content, type);

        return g_strdup_printf ("%s:%s", type == G_CHECKSUM_SHA256 ? "sha256" : "sha512", hex);
}

/* Manager.Download with options (a floating a{sv}, consumed); NULL and *error on failure. */
static char *
download (XferdEnv *env, const char *url, const char *dest, gboolean auto_complete, GVariantBuilder *options,
          char **id, GError **error)
{
        g_variant_builder_add (options, "{sv}", "auto-complete", g_variant_new_boolean (auto_complete));
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "Download",
                                                      g_variant_new ("(ssa{sv})", url, dest, options),
                                                      G_VARIANT_TYPE ("(so)"), error);
        const char *rid, *path;

        if (!reply)
                return NULL;
        bus_fixture_note_xferd (env->fx);
        g_variant_get (reply, "(&s&o)", &rid, &path);
        if (id)
                *id = g_strdup (rid);
        return g_strdup (path);
}

static GVariantBuilder *
options_new (void)
{
        return g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
}

static void
option_string (GVariantBuilder *o, const char *key, const char *value)
{
        g_variant_builder_add (o, "{sv}", key, g_variant_new_string (value));
}

/* download() of url to env->dest with one option (key NULL: none; value floating, consumed),
 * which must be accepted: the job path. */
static char *
download_ok (XferdEnv *env, const char *url, const char *key, GVariant *value, gboolean auto_complete, char **id)
{
        g_autoptr(GError) error = NULL;
        GVariantBuilder *o = options_new ();

        if (key)
                g_variant_builder_add (o, "{sv}", key, value);
        char *job = download (env, url, env->dest, auto_complete, o, id, &error);
        g_variant_builder_unref (o);
        g_assert_no_error (error);
        return job;
}

/* GetFileDetails()[index] (transfer full). */
static GVariant *
file_details (XferdEnv *env, const char *job, guint index)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "GetFileDetails", NULL, G_VARIANT_TYPE ("(aa{sv})"),
                                                  &error);

        g_assert_no_error (error);
        g_autoptr(GVariant) files = g_variant_get_child_value (reply, 0);
        g_assert_cmpuint (index, <, g_variant_n_children (files));
        return g_variant_get_child_value (files, index);
}

static char *
detail_string (GVariant *d, const char *key)
{
        const char *s = NULL;

        if (!g_variant_lookup (d, key, "&s", &s))
                return NULL;
        return g_strdup (s);
}

/* verified-by joined with "," ("" when empty). */
static char *
detail_verified_by (GVariant *d)
{
        g_autofree const char **l = NULL;

        g_assert_true (g_variant_lookup (d, "verified-by", "^a&s", &l));
        return g_strjoinv (",", (char **) l);
}

/* Waits for the job to fail; asserts ErrorName Integrity and that the message says want. */
static void
assert_integrity_error (XferdEnv *env, const char *job, const char *want)
{
        job_wait_state (env->fx, job, "error");
        job_assert_error (env->fx, job, "Integrity", want);
}

/* A download of env->url with checksum (and its auto-completion). */
static void
check_right (XferdEnv *env, const char *checksum, const char *verified)
{
        g_autofree char *id = NULL;

        g_autofree char *job = download_ok (env, env->url, "checksum", g_variant_new_string (checksum), FALSE, &id);
        job_wait_state (env->fx, job, "transferred");

        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_autofree char *got = detail_string (d, "verified-checksum");
        g_autofree char *expected = detail_string (d, "checksum");
        g_autofree char *source = detail_string (d, "checksum-source");
        g_assert_cmpstr (by, ==, "checksum");
        g_assert_cmpstr (got, ==, verified);
        g_assert_cmpstr (expected, ==, verified);     /* stored in lower case */
        g_assert_cmpstr (source, ==, "checksum");
        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
}

/* ---------------------------------------------------------------- checksums */

static void
test_checksum_right (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *sha256 = checksum_of (env->content, G_CHECKSUM_SHA256);
        g_autofree char *sha512 = checksum_of (env->content, G_CHECKSUM_SHA512);

        check_right (env, sha256, sha256);
        g_assert_cmpint (g_unlink (env->dest), ==, 0);
        check_right (env, sha512, sha512);
        g_assert_cmpint (g_unlink (env->dest), ==, 0);
        /* Upper-case hex and algorithm are the same checksum. */
        g_autofree char *upper = g_ascii_strup (sha512, -1);
        check_right (env, upper, sha512);
}

static void
check_wrong (GChecksumType type)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autoptr(GBytes) other = http_pattern_bytes (SIZE + 1);
        g_autofree char *wrong = checksum_of (other, type);
        g_autofree char *right = checksum_of (env->content, type);
        g_autofree char *id = NULL;

        g_autofree char *job = download_ok (env, env->url, "checksum", g_variant_new_string (wrong), TRUE, &id);

        /* The URL, the expected and the computed digest; the wrong file is gone. */
        assert_integrity_error (env, job, env->url);
        g_autofree char *message = job_get_string (env->fx, job, "ErrorMessage");
        g_assert_nonnull (strstr (message, wrong));
        g_assert_nonnull (strstr (message, right));
        assert_dir_empty (env->dir);
        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_assert_cmpstr (by, ==, "");
        g_assert_false (g_variant_lookup (d, "verified-checksum", "s", NULL));

        /* Complete moves nothing that did not check out. */
        g_assert_true (xferd_complete (env->fx, job));
        assert_dir_empty (env->dir);
}

static void
test_checksum_wrong_sha256 (void)
{
        check_wrong (G_CHECKSUM_SHA256);
}

static void
test_checksum_wrong_sha512 (void)
{
        check_wrong (G_CHECKSUM_SHA512);
}

/* Each malformed option is InvalidArgs and leaves the job as it was. */
static void
test_malformed (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *sha256 = hex_of (env->content, G_CHECKSUM_SHA256);
        g_autofree char *job = xferd_create_job (env->fx, "malformed", NULL);
        g_autofree char *short_hex = g_strndup (sha256, 63);
        g_autofree char *no_algorithm = g_strdup (sha256);
        g_autofree char *md5 = g_strdup_printf ("md5:%.32s", sha256);
        g_autofree char *too_short = g_strdup_printf ("sha256:%s", short_hex);
        g_autofree char *sha512_of_256 = g_strdup_printf ("sha512:%s", sha256);
        g_autofree char *not_hex = g_strdup_printf ("sha256:%.63sg", sha256);
        g_autofree char *nonempty = g_strdup_printf ("sha256:%s", sha256);
        const struct {
                const char *key;
                GVariant *value;
                const char *says;
        } cases[] = {
                { "checksum", g_variant_new_string (no_algorithm), "names no algorithm" },
                { "checksum", g_variant_new_string (md5), "sha256:<64 hex digits> or sha512:<128 hex digits>" },
                { "checksum", g_variant_new_string (too_short), "has 63" },
                { "checksum", g_variant_new_string (sha512_of_256), "A sha512 checksum has 128 hex digits" },
                { "checksum", g_variant_new_string (not_hex), "not a hex digit" },
                { "checksum", g_variant_new_string (""), "names no algorithm" },
                { "size", g_variant_new_string ("12"), "must be of type 't'" },
                { "mirrors", g_variant_new_strv ((const char *const[]) { "ftp://127.0.0.1/file.bin", NULL }, -1),
                  "mirror 1 is not usable" },
                { "checksum-list", g_variant_new_string ("file:///etc/passwd"), "checksum list URL is not usable" },
                { "checksum-list-signature", g_variant_new_string ("http://127.0.0.1/x.gpg"), "needs checksum-list" },
                { "color", g_variant_new_string ("blue"), "Unknown option 'color'" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                g_autoptr(GError) error = NULL;
                GVariantBuilder o;

                g_variant_builder_init (&o, G_VARIANT_TYPE_VARDICT);
                g_variant_builder_add (&o, "{sv}", cases[i].key, cases[i].value);
                g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFileWithOptions",
                                                          g_variant_new ("(ssa{sv})", env->url, env->dest, &o),
                                                          G_VARIANT_TYPE_UNIT, &error);
                g_test_message ("%s: %s", cases[i].key, error ? error->message : "(accepted)");
                bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
                g_assert_nonnull (strstr (error->message, cases[i].says));
                g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 0);
        }

        /* A size of 0 is the empty file: another checksum with it is a contradiction. */
        g_autoptr(GError) error = NULL;
        GVariantBuilder o;
        g_variant_builder_init (&o, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add (&o, "{sv}", "checksum", g_variant_new_string (nonempty));
        g_variant_builder_add (&o, "{sv}", "size", g_variant_new_uint64 (0));
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFileWithOptions",
                                                  g_variant_new ("(ssa{sv})", env->url, env->dest, &o),
                                                  G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_assert_nonnull (strstr (error->message, "A size of 0 is the empty file"));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 0);

        /* The same through Download: nothing of the job stays. */
        g_clear_error (&error);
        GVariantBuilder *d = options_new ();
        option_string (d, "checksum", md5);
        g_autofree char *none = download (env, env->url, env->dest, TRUE, d, NULL, &error);
        g_variant_builder_unref (d);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_assert_null (none);

        /* Upload jobs take none of them. */
        g_clear_error (&error);
        GVariantBuilder u;
        g_variant_builder_init (&u, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add (&u, "{sv}", "type", g_variant_new_string ("upload"));
        g_variant_builder_add (&u, "{sv}", "checksum-list", g_variant_new_string ("http://127.0.0.1/SHA256SUMS"));
        g_autoptr(GVariant) up = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "up", &u),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        assert_dir_empty (env->dir);
}

/* ---------------------------------------------------------------- sizes */

static void
check_size (guint64 size)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;

        g_autofree char *job = download_ok (env, env->url, "size", g_variant_new_uint64 (size), TRUE, &id);
        g_autofree char *want = g_strdup_printf ("has %d bytes, but %" G_GUINT64_FORMAT " were expected", SIZE, size);
        assert_integrity_error (env, job, want);
        assert_dir_empty (env->dir);
}

/* The server's body is longer than the size expected: refused before a byte lands. */
static void
test_size_longer (void)
{
        check_size (SIZE - 1);
}

static void
test_size_shorter (void)
{
        check_size (SIZE + 1);
}

/* The right size is recorded as what was checked. */
static void
test_size_right (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);

        g_autofree char *job = download_ok (env, env->url, "size", g_variant_new_uint64 (SIZE), FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        guint64 expected = 0;
        g_assert_cmpstr (by, ==, "size");
        g_assert_true (g_variant_lookup (d, "expected-size", "t", &expected));
        g_assert_cmpuint (expected, ==, SIZE);
}

/* ---------------------------------------------------------------- mirrors */

/* The first URL 404s, the second serves other bytes, the third the right ones. */
static void
test_mirrors (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) other = http_pattern_bytes (SIZE / 2);
        g_autofree char *missing = http_server_url (env->http, "/missing.bin");
        g_autofree char *wrong = http_server_url (env->http, "/wrong/file.bin");
        g_autofree char *sha256 = checksum_of (env->content, G_CHECKSUM_SHA256);
        g_autofree char *id = NULL;
        const char *mirrors[] = { wrong, env->url, NULL };
        GVariantBuilder *o = options_new ();

        http_server_add_bytes (env->http, "/wrong/file.bin", other);
        option_string (o, "checksum", sha256);
        g_variant_builder_add (o, "{sv}", "mirrors", g_variant_new_strv (mirrors, -1));
        g_autofree char *job = download (env, missing, env->dest, FALSE, o, &id, &error);
        g_variant_builder_unref (o);
        g_assert_no_error (error);

        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/missing.bin"), ==, 1);
        g_assert_cmpuint (http_server_request_count (env->http, "/wrong/file.bin"), ==, 1);
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);
        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *in_use = detail_string (d, "url-in-use");
        g_autofree char *url = detail_string (d, "url");
        g_autofree char *by = detail_verified_by (d);
        g_assert_cmpstr (in_use, ==, env->url);
        g_assert_cmpstr (url, ==, missing);
        g_assert_cmpstr (by, ==, "checksum");
        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);

        /* Every mirror wrong: Integrity after the last, and Resume starts from the first. */
        g_assert_cmpint (g_unlink (env->dest), ==, 0);
        http_server_add_bytes (env->http, "/file.bin", other);
        GVariantBuilder *o2 = options_new ();
        option_string (o2, "checksum", sha256);
        g_variant_builder_add (o2, "{sv}", "mirrors", g_variant_new_strv (mirrors, -1));
        g_autofree char *job2 = download (env, missing, env->dest, TRUE, o2, NULL, &error);
        g_variant_builder_unref (o2);
        g_assert_no_error (error);
        assert_integrity_error (env, job2, env->url);
        assert_dir_empty (env->dir);
        g_autoptr(GVariant) d2 = file_details (env, job2, 0);
        g_autofree char *again = detail_string (d2, "url-in-use");
        g_assert_cmpstr (again, ==, missing);
}

/* ------------------------------------------------- kill -9 and a resume */

/* corrupt: a byte of the prefix changes while xferd is gone; restart: the server answers the
 * Range request with the whole file (200), so the file and its hash start over and the new
 * body is hashed from the buffers it is written from. */
static void
check_kill_and_resume (gboolean corrupt, gboolean restart)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *id = NULL;

        xferd_env_serve (env, "/file.bin", SIZE);
        g_autofree char *sha512 = checksum_of (env->content, G_CHECKSUM_SHA512);
        http_server_set_validators (env->http, "/file.bin", "\"v1\"", NULL);
        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autofree char *job = download_ok (env, env->url, "checksum", g_variant_new_string (sha512), TRUE, &id);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, STALL);

        xferd_process_kill (env->fx);
        http_server_release (env->http, "/file.bin");
        http_server_set_ignore_range (env->http, "/file.bin", restart);
        if (corrupt) {
                /* One byte of the prefix changes while xferd is gone: only hashing it can tell. */
                int fd = g_open (temp, O_WRONLY, 0);
                g_assert_cmpint (fd, >=, 0);
                g_assert_cmpint (pwrite (fd, "\xff", 1, STALL / 2), ==, 1);
                g_assert_no_errno (close (fd));
        }

        xferd_process_start (env->fx);
        g_autofree char *hashing = g_strdup_printf ("Hashing the %d bytes held", STALL);
        g_assert_true (xferd_log_wait (env->log, hashing, 1, WAIT_TIMEOUT_MS));
        if (corrupt && !restart) {
                assert_integrity_error (env, job, "does not match its checksum");
                assert_dir_empty (env->dir);
        } else {
                assert_job_removed (env->fx, id, "acknowledged");
                assert_dest_complete (env);
        }
        /* The rest came with a Range request after the bytes held were hashed. */
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 2);
        assert_last_range (env->http, "/file.bin", STALL);
}

/* A stop while the bytes flow fast keeps what was hashed: the Resume reads back only what the
 * hash had not reached (it runs behind the transfer, on idle CPUs), not the 24 MiB and more the
 * file holds, and the file checks out. The response stalls at 24 MiB until the hash holds
 * bytes (it may get no CPU while the bytes flow), so that some are always kept. drop: the stop
 * is the connection's end there (a transient failure), else a Suspend. */
static void
check_stop_keeps_hash (gboolean drop)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;
        GVariantBuilder *o = options_new ();
        enum { N = 96 * 1024 * 1024 };
        guint64 reread = 0, kept = 0;
        struct stat st;

        xferd_env_serve (env, "/file.bin", N);
        g_autofree char *sha256 = checksum_of (env->content, G_CHECKSUM_SHA256);
        http_server_set_validators (env->http, "/file.bin", "\"v1\"", NULL);
        http_server_set_rate (env->http, "/file.bin", 400 * 1024 * 1024);
        http_server_stall_after (env->http, "/file.bin", 24 * 1024 * 1024);
        option_string (o, "checksum", sha256);
        g_autofree char *job = download (env, env->url, env->dest, TRUE, o, &id, &error);
        g_variant_builder_unref (o);
        g_assert_no_error (error);
        g_assert_true (http_server_wait_stalled (env->http, "/file.bin", 1, WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, "A hash stream holds its first", 1, WAIT_TIMEOUT_MS));
        if (drop) {
                http_server_drop_stalled (env->http, "/file.bin");
                job_wait_state (env->fx, job, "transient-error");
        } else {
                xferd_job_call (env->fx, job, "Suspend");
                job_wait_state (env->fx, job, "suspended");
                http_server_release (env->http, "/file.bin");
        }
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_cmpint (stat (temp, &st), ==, 0);
        http_server_set_rate (env->http, "/file.bin", 0);
        xferd_job_call (env->fx, job, "Resume");
        assert_job_removed (env->fx, id, "acknowledged");
        assert_dest_complete (env);
        g_autofree char *keeps = xferd_log_grep (env->log, "Kept the hash of the first");
        const char *at = strstr (keeps, "Kept the hash of the first ");
        g_assert_nonnull (at);
        g_assert_cmpint (sscanf (at, "Kept the hash of the first %" G_GUINT64_FORMAT, &kept), ==, 1);
        g_assert_cmpuint (kept, >, 0);
        /* No line when the hasher had every byte held. */
        g_autofree char *lines = xferd_log_grep (env->log, "bytes held of");
        at = strstr (lines, "Hashing the ");
        if (at)
                g_assert_cmpint (sscanf (at, "Hashing the %" G_GUINT64_FORMAT, &reread), ==, 1);
        g_assert_cmpuint (kept + reread, ==, (guint64) st.st_size);
}

static void
test_suspend_keeps_hash (void)
{
        check_stop_keeps_hash (FALSE);
}

static void
test_drop_keeps_hash (void)
{
        check_stop_keeps_hash (TRUE);
}

static void
test_kill_resume_right (void)
{
        check_kill_and_resume (FALSE, FALSE);
}

static void
test_kill_resume_wrong (void)
{
        check_kill_and_resume (TRUE, FALSE);
}

/* The corrupted prefix is gone with the restart: the file checks out. */
static void
test_kill_resume_restart (void)
{
        check_kill_and_resume (TRUE, TRUE);
}

/* ---------------------------------------------------------------- server digests */

static void
check_server_digest (HttpDigestField field, GChecksumType type, const char *verified_by)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *want = checksum_of (env->content, type);

        http_server_send_digest (env->http, "/file.bin", field, type, HTTP_DIGEST_RIGHT);
        g_autofree char *job = download_ok (env, env->url, NULL, NULL, FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_autofree char *got = detail_string (d, "verified-checksum");
        g_assert_cmpstr (by, ==, verified_by);
        g_assert_cmpstr (got, ==, want);
        g_autofree char *asked = http_server_last_header (env->http, "/file.bin", "Want-Repr-Digest");
        g_assert_nonnull (asked);
}

static void
test_repr_digest_right (void)
{
        check_server_digest (HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, "repr-digest");
        check_server_digest (HTTP_DIGEST_REPR, G_CHECKSUM_SHA512, "repr-digest");
        check_server_digest (HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, "content-digest");
        check_server_digest (HTTP_DIGEST_LEGACY, G_CHECKSUM_SHA512, "digest");
}

static void
test_repr_digest_wrong (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);

        http_server_send_digest (env->http, "/file.bin", HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, HTTP_DIGEST_WRONG);
        g_autofree char *job = download_ok (env, env->url, NULL, NULL, TRUE, NULL);
        assert_integrity_error (env, job, "the Repr-Digest the server sent");
        assert_dir_empty (env->dir);
}

/* A download suspended mid-way, without a digest so far; resume_with() continues it with a
 * 206 that carries the digest fields given. */
static char *
download_suspended (XferdEnv *env)
{
        http_server_set_validators (env->http, "/file.bin", "\"v1\"", NULL);
        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autofree char *job = download_ok (env, env->url, NULL, NULL, FALSE, NULL);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, STALL);
        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        return g_steal_pointer (&job);
}

static void
resume_with (XferdEnv *env, const char *job, HttpDigestField field, GChecksumType type, HttpDigestMode mode)
{
        http_server_send_digest (env->http, "/file.bin", field, type, mode);
        http_server_release (env->http, "/file.bin");
        xferd_job_call (env->fx, job, "Resume");
}

/* size: large enough, the 206's body goes through the writer's threads, which hash the range
 * for its Content-Digest as they write it. */
static void
check_digest_on_206 (gsize size)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", size);

        /* The first response has no digest: nothing was hashed along, so the whole file is
         * read once at the end to check the Repr-Digest of the 206 (and its Content-Digest, of
         * the range, on the way). */
        g_autofree char *job = download_suspended (env);
        http_server_send_digest (env->http, "/file.bin", HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        resume_with (env, job, HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        job_wait_state (env->fx, job, "transferred");
        assert_last_range (env->http, "/file.bin", STALL);
        g_autoptr(GVariant) d = file_details (env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_assert_cmpstr (by, ==, "repr-digest");
        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
}

static void
test_digest_on_206 (void)
{
        check_digest_on_206 (SIZE);
}

static void
test_digest_on_206_large (void)
{
        check_digest_on_206 (LARGE);
}

/* The Content-Digest of a 206 alone, right: the range, hashed by the writer's threads as they
 * write it, checks out. */
static void
test_content_digest_on_206_large (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", LARGE);
        g_autofree char *job = download_suspended (env);

        resume_with (env, job, HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        job_wait_state (env->fx, job, "transferred");
        assert_last_range (env->http, "/file.bin", STALL);
        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
}

/* A 206 whose digest field does not match: the job fails with a message that says so. */
typedef struct {
        HttpDigestField field;
        GChecksumType type;
        const char *says;
        gsize size;             /* 0: SIZE */
} WrongDigest;

static void
test_wrong_digest_on_206 (gconstpointer data)
{
        const WrongDigest *w = data;
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", w->size ? w->size : SIZE);
        g_autofree char *job = download_suspended (env);

        resume_with (env, job, w->field, w->type, HTTP_DIGEST_SWAPPED);
        assert_integrity_error (env, job, w->says);
        assert_dir_empty (env->dir);
}

/* A 206's Content-Digest (right) whose range cannot be hashed (XFERD_TEST_RANGE_HASH_FAIL
 * makes every update of the range's hasher fail, as without memory): not a silent pass, the
 * file fails with Integrity and goes. data: the size, small (its range hashed on the loop) or
 * LARGE (by the writer's threads). */
static void
test_content_digest_unhashed (gconstpointer data)
{
        static const char *const fault[] = { "XFERD_TEST_RANGE_HASH_FAIL=1", NULL };
        const BusFixtureOptions options = { .xferd_env = fault };
        g_autoptr(XferdEnv) env = xferd_env_new_serving (&options, "/file.bin", GPOINTER_TO_SIZE (data));
        g_autofree char *job = download_suspended (env);

        resume_with (env, job, HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, HTTP_DIGEST_RIGHT);
        assert_integrity_error (env, job, "could not be hashed");
        assert_dir_empty (env->dir);
}

/* ---------------------------------------------------------------- signed lists */

typedef struct {
        XferdEnv *env;
        OpenpgpKey *key, *stranger;
        char *keys_dir;
        char *list_url;
        GBytes *list;
} Signed;

/* The signature of what, by key, as the list's. */
static void
sign_list (Signed *s, OpenpgpKey *key, GBytes *what)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) sig = openpgp_key_sign (key, what, NULL, FALSE, NULL, &error);

        g_assert_no_error (error);
        http_server_add_bytes (s->env->http, "/images/SHA256SUMS.gpg", sig);
}

/* A list with its signature by s->key, which keys.d trusts; what a case changes, it changes
 * after. logged: xferd's output captured in s->env->log. */
static gboolean
signed_setup_full (Signed *s, gboolean logged)
{
        if (!openpgp_tools_available_or_skip ())
                return FALSE;
        s->env = logged ? xferd_env_new_logged (NULL) : xferd_env_new (NULL);
        /* The keys.d of xferd --user: $XDG_CONFIG_HOME/xferd/keys.d. */
        s->keys_dir = g_build_filename (s->env->fx->tmpdir, "xdg", "config", "xferd", "keys.d", NULL);
        g_assert_cmpint (g_mkdir_with_parents (s->keys_dir, 0755), ==, 0);
        g_autofree char *keyring = openpgp_test_keys_new (s->keys_dir, &s->key, &s->stranger);

        xferd_env_serve (s->env, "/images/file.bin", SIZE);
        http_server_add_generated (s->env->http, "/images/other.iso", 1000);
        const char *const listed[] = { "/images/other.iso", "/images/file.bin", NULL };
        s->list = http_server_checksum_list (s->env->http, G_CHECKSUM_SHA256, listed);
        http_server_add_bytes (s->env->http, "/images/SHA256SUMS", s->list);
        s->list_url = http_server_url (s->env->http, "/images/SHA256SUMS");
        sign_list (s, s->key, s->list);
        return TRUE;
}

static gboolean
signed_setup (Signed *s)
{
        return signed_setup_full (s, FALSE);
}

static void
signed_teardown (Signed *s)
{
        openpgp_key_free (s->key);
        openpgp_key_free (s->stranger);
        xferd_env_free (s->env);
        g_free (s->keys_dir);
        g_free (s->list_url);
        g_clear_pointer (&s->list, g_bytes_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Signed, signed_teardown)

static char *
download_listed (Signed *s, const char *url, gboolean auto_complete)
{
        return download_ok (s->env, url, "checksum-list", g_variant_new_string (s->list_url), auto_complete, NULL);
}

static void
test_list_good (void)
{
        g_auto(Signed) s = { NULL };

        if (!signed_setup (&s))
                return;
        g_autofree char *job = download_listed (&s, s.env->url, FALSE);
        job_wait_state (s.env->fx, job, "transferred");
        g_autoptr(GVariant) d = file_details (s.env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_autofree char *source = detail_string (d, "checksum-source");
        g_autofree char *key = detail_string (d, "checksum-list-key");
        g_autofree char *sig = detail_string (d, "checksum-list-signature");
        g_autofree char *want_sig = g_strconcat (s.list_url, ".gpg", NULL);
        g_autofree char *want = checksum_of (s.env->content, G_CHECKSUM_SHA256);
        g_autofree char *got = detail_string (d, "verified-checksum");
        g_assert_cmpstr (by, ==, "checksum-list");
        g_assert_cmpstr (source, ==, "checksum-list");
        g_assert_cmpstr (key, ==, openpgp_key_fingerprint (s.key));
        g_assert_cmpstr (sig, ==, want_sig);
        g_assert_cmpstr (got, ==, want);
        g_assert_false (xferd_complete (s.env->fx, job));
        assert_dest_complete (s.env);
}

/* A new job (CreateJob) whose files are checked against s's list; its path. */
static char *
create_listed (Signed *s, const char *name)
{
        return xferd_create_job_with (s->env->fx, name, NULL, "checksum-list", s->list_url, NULL);
}

/* CreateJob's checksum-list is the list of every file added without one: a plain AddFile is
 * checked against it. */
static void
test_list_job_default (void)
{
        g_auto(Signed) s = { NULL };

        if (!signed_setup (&s))
                return;
        g_autofree char *job = create_listed (&s, "listed");
        xferd_add_file (s.env->fx, job, s.env->url, s.env->dest);
        xferd_job_call (s.env->fx, job, "Resume");
        job_wait_state (s.env->fx, job, "transferred");
        g_autoptr(GVariant) d = file_details (s.env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_autofree char *list = detail_string (d, "checksum-list");
        g_assert_cmpstr (by, ==, "checksum-list");
        g_assert_cmpstr (list, ==, s.list_url);
}

/* The list and its signature are requests of the job: with the job's Proxy set to direct they
 * go directly, not the way the daemon's own settings say (here an http_proxy that refuses
 * every connection, which the file itself is also kept from). */
static void
test_list_follows_job_proxy (void)
{
        g_auto(Signed) s = { NULL };
        g_autoptr(GError) error = NULL;

        if (!signed_setup (&s))
                return;
        xferd_process_setenv (s.env->fx, "http_proxy", "http://127.0.0.1:9");
        xferd_process_setenv (s.env->fx, "no_proxy", "");
        xferd_process_setenv (s.env->fx, "NO_PROXY", "");
        g_autofree char *job = create_listed (&s, "direct");
        bus_set_property (s.env->fx, job, XFERD_JOB_IFACE, "Proxy", g_variant_new_string ("direct"), &error);
        g_assert_no_error (error);
        xferd_add_file (s.env->fx, job, s.env->url, s.env->dest);
        xferd_job_call (s.env->fx, job, "Resume");
        job_wait_state (s.env->fx, job, "transferred");
        g_autoptr(GVariant) d = file_details (s.env, job, 0);
        g_autofree char *by = detail_verified_by (d);
        g_assert_cmpstr (by, ==, "checksum-list");
        g_assert_cmpuint (http_server_request_count (s.env->http, "/images/SHA256SUMS.gpg"), ==, 1);
}

static void
check_list_refused (Signed *s, const char *url, const char *says)
{
        g_autofree char *job = download_listed (s, url, TRUE);

        assert_integrity_error (s->env, job, says);
        /* Not one byte of the file was fetched: the list is checked first. */
        g_assert_cmpuint (http_server_request_count (s->env->http, "/images/file.bin"), ==, 0);
        g_assert_true (xferd_complete (s->env->fx, job));
        assert_dir_empty (s->env->dir);
}

/* What is wrong with the list's signature. */
typedef enum {
        LIST_CHANGED,
        LIST_SIGNED_BY_STRANGER,
        LIST_NOT_SIGNED,
        LIST_NO_KEYRING,
} ListFault;

/* The list refused for what data (a ListFault) says is wrong, with the error that says so. */
static void
test_list_refused (gconstpointer data)
{
        g_auto(Signed) s = { NULL };
        g_autoptr(GBytes) other = g_bytes_new_static ("changed\n", 8);
        g_autofree char *keyring = NULL;
        const char *says = NULL;

        if (!signed_setup (&s))
                return;
        switch ((ListFault) GPOINTER_TO_INT (data)) {
        case LIST_CHANGED:
                /* A signature of other bytes: the list was changed after it was signed. */
                sign_list (&s, s.key, other);
                says = "signature of the checksum list is bad";
                break;
        case LIST_SIGNED_BY_STRANGER:
                sign_list (&s, s.stranger, s.list);
                says = "in none of the keyrings";
                break;
        case LIST_NOT_SIGNED:
                http_server_fail (s.env->http, "/images/SHA256SUMS.gpg", 404, NULL, -1, HTTP_SERVER_FOREVER);
                says = "signature of the checksum list cannot be fetched";
                break;
        case LIST_NO_KEYRING:
                /* Without a keyring in keys.d nothing can be trusted. */
                keyring = g_build_filename (s.keys_dir, "test.gpg", NULL);
                g_assert_cmpint (g_unlink (keyring), ==, 0);
                says = "No keyring";
                break;
        }
        check_list_refused (&s, s.env->url, says);
}

static void
test_list_missing_file (void)
{
        g_auto(Signed) s = { NULL };

        if (!signed_setup (&s))
                return;
        g_autoptr(GBytes) unlisted = http_server_add_generated (s.env->http, "/images/unlisted.bin", 100);
        g_autofree char *url = http_server_url (s.env->http, "/images/unlisted.bin");
        g_autofree char *job = download_listed (&s, url, TRUE);
        assert_integrity_error (s.env, job, "is not in the signed checksum list");
        g_assert_cmpuint (http_server_request_count (s.env->http, "/images/unlisted.bin"), ==, 0);
        assert_dir_empty (s.env->dir);
}

/* ---------------------------------------------------------------- credentials */

/* "http://alice:S3cr3t@127.0.0.1:<port><path>", without secret_url()'s query: a checksum
 * list's signature is at its URL with ".gpg" after it. */
static char *
credential_url (XferdEnv *env, const char *path)
{
        return g_strdup_printf ("http://" SECRET_USER ":" SECRET_PASSWORD "@127.0.0.1:%u%s",
                                http_server_get_port (env->http), path);
}

/* A download of url checked against the signed list at list_url; its path. */
static char *
download_with_list (XferdEnv *env, const char *url, const char *list_url, GPtrArray *jobs)
{
        char *job = download_ok (env, url, "checksum-list", g_variant_new_string (list_url), FALSE, NULL);

        g_ptr_array_add (jobs, g_strdup (job));
        return job;
}

/* URLs with a user and a password (and a token where the rules allow one) through every path
 * of integrity that names a URL: a signed list fetched and its key logged, a file that is not
 * in it, a list whose signature is bad, a wrong file and the next mirror, and the last mirror's
 * verdict. Not one log line, property, signal or error shows any of the three. */
static void
test_credentials_never_shown (void)
{
        g_auto(Signed) s = { NULL };
        g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GError) error = NULL;

        if (!signed_setup_full (&s, TRUE))
                return;
        XferdEnv *env = s.env;
        g_autofree char *list = credential_url (env, "/images/SHA256SUMS");
        g_autofree char *listed = credential_url (env, "/images/file.bin");

        /* The list fetched, its signature good. */
        g_autofree char *good = download_with_list (env, listed, list, jobs);
        job_wait_state (env->fx, good, "transferred");

        /* A file the list does not name. */
        g_autofree char *unlisted = credential_url (env, "/images/unlisted.bin");
        http_server_add_generated (env->http, "/images/unlisted.bin", 100);
        g_autofree char *missing = download_with_list (env, unlisted, list, jobs);
        assert_integrity_error (env, missing, "is not in the signed checksum list");

        /* A list whose signature is of other bytes. */
        g_autoptr(GBytes) changed = g_bytes_new_static ("changed\n", 8);
        g_autoptr(GBytes) bad_signature = openpgp_key_sign (s.key, changed, NULL, FALSE, NULL, &error);
        g_assert_no_error (error);
        http_server_add_bytes (env->http, "/bad/SHA256SUMS", s.list);
        http_server_add_bytes (env->http, "/bad/SHA256SUMS.gpg", bad_signature);
        g_autofree char *bad_list = credential_url (env, "/bad/SHA256SUMS");
        g_autofree char *refused = download_with_list (env, listed, bad_list, jobs);
        assert_integrity_error (env, refused, "signature of the checksum list is bad");

        /* Wrong bytes at the URL and at its mirror: the next mirror, then the verdict. */
        g_autoptr(GBytes) other = http_pattern_bytes (SIZE / 2);
        http_server_add_bytes (env->http, "/wrong/file.bin", other);
        http_server_add_bytes (env->http, "/mirror/file.bin", other);
        g_autofree char *wrong = secret_url (http_server_get_port (env->http), "/wrong/file.bin");
        g_autofree char *mirror = secret_url (http_server_get_port (env->http), "/mirror/file.bin");
        const char *mirrors[] = { mirror, NULL };
        g_autofree char *sha256 = checksum_of (env->content, G_CHECKSUM_SHA256);
        GVariantBuilder *o = options_new ();
        option_string (o, "checksum", sha256);
        g_variant_builder_add (o, "{sv}", "mirrors", g_variant_new_strv (mirrors, -1));
        g_autofree char *dest = xferd_env_path (env, "mirrored.bin");
        g_autofree char *verdict = download (env, wrong, dest, FALSE, o, NULL, &error);
        g_variant_builder_unref (o);
        g_assert_no_error (error);
        g_ptr_array_add (jobs, g_strdup (verdict));
        assert_integrity_error (env, verdict, "/mirror/file.bin");
        g_assert_cmpuint (http_server_request_count (env->http, "/wrong/file.bin"), ==, 1);

        for (guint i = 0; i < jobs->len; i++)
                assert_job_shows_no_secret (env->fx, g_ptr_array_index (jobs, i));
        assert_signals_show_no_secret (env->fx);
        g_assert_true (xferd_log_wait (env->log, "is signed by key", 1, WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, "Trying the next mirror", 1, WAIT_TIMEOUT_MS));
        assert_log_shows_no_secret (env->log, "/images/SHA256SUMS");
}

/* ---------------------------------------------------------------- Cancel while hashing */

#define BIG (32 * 1024 * 1024)

/* BIG bytes held of a checksummed download, xferd killed and started again: it reads them back
 * to hash them while the resumed request gets no answer (the file never ends, the hash is what
 * runs), and the test pause holds the hashing after its first piece, so that what the test
 * does next surely comes while it runs. Returns the job's path. */
static char *
start_hashing_held (XferdEnv *env)
{
        xferd_env_serve (env, "/file.bin", BIG + 1000);
        g_autofree char *sha256 = checksum_of (env->content, G_CHECKSUM_SHA256);
        http_server_set_validators (env->http, "/file.bin", "\"v1\"", NULL);
        http_server_stall_after (env->http, "/file.bin", BIG);
        char *job = download_ok (env, env->url, "checksum", g_variant_new_string (sha256), TRUE, NULL);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (wait_file_size (temp, BIG, 4 * WAIT_TIMEOUT_MS));
        xferd_process_kill (env->fx);
        http_server_release (env->http, "/file.bin");
        http_server_hang (env->http, "/file.bin", HTTP_SERVER_FOREVER);
        xferd_process_setenv (env->fx, "XFERD_TEST_HASH_PAUSE", "1");

        xferd_process_start (env->fx);
        g_autofree char *hashing = g_strdup_printf ("Hashing the %d bytes held", BIG);
        g_assert_true (xferd_log_wait (env->log, hashing, 1, WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, "Test pause: the hashing holds", 1, WAIT_TIMEOUT_MS));
        return job;
}

static void
test_cancel_while_hashing (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *job = start_hashing_held (env);

        xferd_job_call (env->fx, job, "Cancel");

        /* Nothing left, no verdict (the hash never ended), and the job is final. The resumed
         * request runs beside the hashing, so it may have reached the server or not. */
        assert_dir_empty (env->dir);
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), <=, 2);
        g_assert_cmpint (xferd_log_count (env->log, "checked out"), ==, 0);
        xferd_job_call_refused (env->fx, job, "Cancel", XFERD_ERROR ("InvalidState"));
}

/* A Suspend while the bytes held are read back (the test pause holds the hashing after its
 * first piece): the stream waits for that piece and keeps its hasher, so the Resume reads back
 * only the rest, not the whole prefix again. */
static void
test_suspend_while_hashing (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *job = start_hashing_held (env);
        guint64 first = 0, second = 0;

        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        xferd_job_call (env->fx, job, "Resume");
        g_assert_true (xferd_log_wait (env->log, "bytes held of", 2, WAIT_TIMEOUT_MS));
        g_autofree char *lines = xferd_log_grep (env->log, "bytes held of");
        const char *at = strstr (lines, "Hashing the ");
        g_assert_nonnull (at);
        g_assert_cmpint (sscanf (at, "Hashing the %" G_GUINT64_FORMAT, &first), ==, 1);
        at = strstr (at + 1, "Hashing the ");
        g_assert_nonnull (at);
        g_assert_cmpint (sscanf (at, "Hashing the %" G_GUINT64_FORMAT, &second), ==, 1);
        g_assert_cmpuint (first, ==, BIG);
        g_assert_cmpuint (second, <, first);
        xferd_job_call (env->fx, job, "Cancel");
        assert_dir_empty (env->dir);
}

const TestCase test_cases[] = {
        { "/integrity/checksum-right", test_checksum_right },
        { "/integrity/suspend-keeps-hash", test_suspend_keeps_hash },
        { "/integrity/drop-keeps-hash", test_drop_keeps_hash },
        { "/integrity/checksum-wrong-sha256", test_checksum_wrong_sha256 },
        { "/integrity/checksum-wrong-sha512", test_checksum_wrong_sha512 },
        { "/integrity/malformed", test_malformed },
        { "/integrity/size-longer", test_size_longer },
        { "/integrity/size-shorter", test_size_shorter },
        { "/integrity/size-right", test_size_right },
        { "/integrity/mirrors", test_mirrors },
        { "/integrity/kill-resume-right", test_kill_resume_right },
        { "/integrity/kill-resume-wrong", test_kill_resume_wrong },
        { "/integrity/kill-resume-restart", test_kill_resume_restart },
        { "/integrity/repr-digest-right", test_repr_digest_right },
        { "/integrity/repr-digest-wrong", test_repr_digest_wrong },
        { "/integrity/digest-on-206", test_digest_on_206 },
        { "/integrity/digest-on-206-large", test_digest_on_206_large },
        { "/integrity/content-digest-on-206-large", test_content_digest_on_206_large },
        { "/integrity/list-good", test_list_good },
        { "/integrity/list-job-default", test_list_job_default },
        { "/integrity/list-follows-job-proxy", test_list_follows_job_proxy },
        { "/integrity/list-missing-file", test_list_missing_file },
        { "/integrity/credentials-never-shown", test_credentials_never_shown },
        { "/integrity/cancel-while-hashing", test_cancel_while_hashing },
        { "/integrity/suspend-while-hashing", test_suspend_while_hashing },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        /* A server that gives its range's digest as Repr-Digest on a 206: the whole file does
         * not match it. */
        { "/integrity/digest-on-206-wrong-scope", test_wrong_digest_on_206,
          &(const WrongDigest) { HTTP_DIGEST_REPR, G_CHECKSUM_SHA256, "Repr-Digest", 0 } },
        /* Content-Digest of a 206 covers only its range: a wrong one fails the transfer itself. */
        { "/integrity/content-digest-on-206-wrong", test_wrong_digest_on_206,
          &(const WrongDigest) { HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA512, "Content-Digest", 0 } },
        { "/integrity/content-digest-on-206-wrong-large", test_wrong_digest_on_206,
          &(const WrongDigest) { HTTP_DIGEST_CONTENT, G_CHECKSUM_SHA256, "Content-Digest", LARGE } },
        { "/integrity/content-digest-unhashed", test_content_digest_unhashed, GSIZE_TO_POINTER (SIZE) },
        { "/integrity/content-digest-unhashed-large", test_content_digest_unhashed, GSIZE_TO_POINTER (LARGE) },
        { "/integrity/list-bad-signature", test_list_refused, GINT_TO_POINTER (LIST_CHANGED) },
        { "/integrity/list-unknown-key", test_list_refused, GINT_TO_POINTER (LIST_SIGNED_BY_STRANGER) },
        { "/integrity/list-missing-signature", test_list_refused, GINT_TO_POINTER (LIST_NOT_SIGNED) },
        { "/integrity/list-no-keyring", test_list_refused, GINT_TO_POINTER (LIST_NO_KEYRING) },
        { NULL, NULL, NULL }
};
