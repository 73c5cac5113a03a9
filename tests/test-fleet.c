/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fleets: xferd with the site's cache (CacheHost=), proxies (Proxy=,
 * NoProxy=, a job's Proxy property) and extra CAs (CAFile=), against the real
 * squid (squid-proxy.h, configured with docs/fleet/squid.conf) and an origin
 * that counts the body bytes it serves (http-server.h).
 *
 * Every "machine" is an xferd of its own: its own private bus, state
 * directory and download directory (bus-fixture.h). Proxy variables of the
 * test's environment never reach it: they are blanked, or set on purpose.
 *
 * Needs squid (and openssl for the https and authentication cases): skips
 * without it, fails with CI=true. Not run under the sanitizers (.ci/run
 * leaves out the suite 'squid'): squid is not instrumented, and the timings
 * of the fallback cases assume a normal build.
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "poll-wait.h"
#include "squid-proxy.h"
#include "test-cases.h"
#include "tls-ca.h"
#include "varnish-cache.h"
#include "xferctl-run.h"

#define MIB (1024 * 1024)
#define FLEET_SIZE (32 * MIB)
/* The fallback cases: not a round number, and the point where the origin stalls. */
#define SIZE (8 * MIB + 4321)
#define STALL (3 * MIB)
#define SMALL (300 * 1024 + 17)
/* How long xferd waits for a silent cache in the fallback case, and the slack on top. */
#define FALLBACK_SEC 2
#define MARGIN_SEC 8

/* Not a word a log would hold by chance. */
#define PROXY_USER "fleetuser7"
#define PROXY_PASSWORD "Zq9-fleet-secret"

static const char *const proxy_variables[] = {
        "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
};

/* A machine: an xferd of its own (xferd_env_new_logged()) with config as its xferd.conf;
 * with the proxy variables blanked, or http_proxy set to env_http_proxy. */
static XferdEnv *
machine_new (const char *config, const char *env_http_proxy)
{
        BusFixtureOptions options = { .config = config };
        XferdEnv *m = xferd_env_new_logged (&options);

        /* The bus cannot unset a variable; curl takes an empty one for none. */
        for (gsize i = 0; i < G_N_ELEMENTS (proxy_variables); i++)
                xferd_process_setenv (m->fx, proxy_variables[i], "");
        if (env_http_proxy)
                xferd_process_setenv (m->fx, "http_proxy", env_http_proxy);
        return m;
}

/* Download(url → dir/name) with AutoComplete; the job path. */
static char *
machine_download (XferdEnv *m, const char *url, const char *name, char **id)
{
        g_autofree char *dest = xferd_env_path (m, name);

        return xferd_download (m->fx, url, dest, TRUE, id);
}

/* Waits for an auto-completing job to end as acknowledged. */
static void
machine_wait_acknowledged (XferdEnv *m, const char *job)
{
        job_wait_state (m->fx, job, "acknowledged");
}

/* A job that goes through proxy (its Proxy property) to fetch url into dir/name: created,
 * given its Proxy, then its file, then resumed; AutoComplete as asked. */
static char *
machine_download_via (XferdEnv *m, const char *proxy, const char *url, const char *name, gboolean auto_complete)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dest = xferd_env_path (m, name);
        char *job = xferd_create_job (m->fx, name, NULL);

        bus_set_property (m->fx, job, XFERD_JOB_IFACE, "Proxy", g_variant_new_string (proxy), &error);
        g_assert_no_error (error);
        job_set (m->fx, job, "AutoComplete", g_variant_new_boolean (auto_complete));
        xferd_add_file (m->fx, job, url, dest);
        xferd_job_call (m->fx, job, "Resume");
        return job;
}

static guint64
manager_get_uint64 (XferdEnv *m, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = bus_get_property (m->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, name, &error);

        g_assert_no_error (error);
        g_assert_true (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64));
        return g_variant_get_uint64 (v);
}

static void
assert_sources (XferdEnv *m, const char *job, guint64 from_cache, guint64 from_origin)
{
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromCache"), ==, from_cache);
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromOrigin"), ==, from_origin);
}

static void
assert_file (XferdEnv *m, const char *name, GBytes *content)
{
        g_autofree char *path = xferd_env_path (m, name);

        assert_file_content (path, content);
}

/* machine_download() of url into dir/name, waited for until acknowledged: the file holds
 * content, from_cache of its bytes came from the cache and from_origin from the origin.
 * The job path. */
static char *
machine_fetch (XferdEnv *m, const char *url, const char *name, GBytes *content,
               guint64 from_cache, guint64 from_origin)
{
        char *job = machine_download (m, url, name, NULL);

        machine_wait_acknowledged (m, job);
        assert_file (m, name, content);
        assert_sources (m, job, from_cache, from_origin);
        return job;
}

/* Polls BytesTransferred (progress is announced every 250 ms at most) until it is n. */
static gboolean
wait_job_bytes (XferdEnv *m, const char *job, guint64 n, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        while (job_get_uint64 (m->fx, job, "BytesTransferred") != n)
                if (!poll_again (deadline, 20))
                        return FALSE;
        return TRUE;
}

/* The value of the line "NAME:  value" of xferctl info's output, or NULL. */
static char *
info_value (const char *out, const char *name)
{
        g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
        g_autofree char *key = g_strconcat (name, ":", NULL);

        for (guint i = 0; lines[i]; i++) {
                char *line = g_strstrip (lines[i]);
                if (g_str_has_prefix (line, key))
                        return g_strdup (g_strstrip (line + strlen (key)));
        }
        return NULL;
}

/* A squid that wants PROXY_USER's Basic authentication. */
static const SquidOptions with_auth = { .user = PROXY_USER, .password = PROXY_PASSWORD };

/* What most cases run against: squid, and the origin with generated bytes at one path. */
typedef struct {
        SquidProxy *squid;
        HttpServer *origin;
        GBytes *content;
        char *url;              /* of the content on the origin */
} Site;

static void
site_free (Site *site)
{
        g_free (site->url);
        g_clear_pointer (&site->content, g_bytes_unref);
        g_clear_pointer (&site->origin, http_server_free);
        squid_proxy_free (site->squid);
        g_free (site);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Site, site_free)

/* squid (squid_proxy_new (options)) and the origin with size bytes at path; NULL (the test
 * skipped) when squid cannot run. */
static Site *
site_new (const SquidOptions *options, const char *path, gsize size)
{
        SquidProxy *squid = squid_proxy_new (options);
        if (!squid)
                return NULL;

        Site *site = g_new0 (Site, 1);
        site->squid = squid;
        site->origin = http_server_new ();
        site->content = http_server_add_generated (site->origin, path, size);
        site->url = http_server_url (site->origin, path);
        return site;
}

/* scheme://PROXY_USER:PROXY_PASSWORD<suffix>@squid: a proxy with the credentials (a wrong
 * password with a suffix). */
static char *
proxy_with_credentials (SquidProxy *squid, const char *scheme, const char *suffix)
{
        return g_strdup_printf ("%s://%s:%s%s@%s", scheme, PROXY_USER, PROXY_PASSWORD, suffix,
                                squid_proxy_host (squid));
}

/* Waits until squid logged n requests that PROXY_USER authenticated. */
static gboolean
squid_wait_authenticated (SquidProxy *squid, guint n)
{
        g_autofree char *authenticated = g_strdup_printf (" %s HIER_", PROXY_USER);

        return squid_proxy_wait_requests (squid, authenticated, n, WAIT_TIMEOUT_MS);
}

/* A machine whose http downloads go through squid as the site's cache. */
static XferdEnv *
machine_behind_cache_new (SquidProxy *squid, guint fallback_sec)
{
        g_autofree char *config = g_strdup_printf ("[Network]\nCacheHost=%s\nCacheFallbackSec=%u\n",
                                                   squid_proxy_host (squid), fallback_sec);

        return machine_new (config, NULL);
}

/* Two machines fetch the same file through the cache at the same time: the origin sends it
 * once, both get every byte, and both count it as bytes from the cache. */
static void
test_two_machines (void)
{
        g_autoptr(Site) site = site_new (NULL, "/update.bin", FLEET_SIZE);
        if (!site)
                return;
        g_autoptr(XferdEnv) a = machine_behind_cache_new (site->squid, 30);
        g_autoptr(XferdEnv) b = machine_behind_cache_new (site->squid, 30);

        /* a completes by hand, so that xferctl can still show its job below. */
        g_autofree char *dest_a = xferd_env_path (a, "update.bin");
        g_autofree char *job_a = xferd_download (a->fx, site->url, dest_a, FALSE, NULL);
        g_autofree char *job_b = machine_download (b, site->url, "update.bin", NULL);
        job_wait_state (a->fx, job_a, "transferred");
        machine_wait_acknowledged (b, job_b);

        assert_file (b, "update.bin", site->content);
        /* The origin served the body once: one request, FLEET_SIZE bytes. */
        g_assert_cmpuint (http_server_request_count (site->origin, "/update.bin"), ==, 1);
        g_assert_cmpuint (http_server_body_bytes (site->origin, "/update.bin"), ==, FLEET_SIZE);
        g_assert_true (squid_proxy_wait_requests (site->squid, site->url, 2, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (squid_proxy_count_requests (site->squid, "HIER_DIRECT"), ==, 1);

        assert_sources (a, job_a, FLEET_SIZE, 0);
        assert_sources (b, job_b, FLEET_SIZE, 0);
        g_assert_cmpuint (manager_get_uint64 (a, "BytesFromCache"), ==, FLEET_SIZE);
        g_assert_cmpuint (manager_get_uint64 (a, "BytesFromOrigin"), ==, 0);
        g_assert_cmpuint (manager_get_uint64 (b, "BytesFromCache"), ==, FLEET_SIZE);

        /* xferctl info shows where the bytes came from. */
        g_autofree char *out = NULL;
        g_assert_cmpint (xferctl_run (a, &out, NULL, "info", xferd_job_id (job_a), NULL), ==, 0);
        g_autofree char *from_cache = info_value (out, "BytesFromCache");
        g_autofree char *from_origin = info_value (out, "BytesFromOrigin");
        g_assert_cmpstr (from_cache, ==, "32.0 MiB (33554432 bytes)");
        g_assert_cmpstr (from_origin, ==, "0 B");

        g_assert_false (xferd_complete (a->fx, job_a));
        assert_file (a, "update.bin", site->content);
}

/* The origin stalls the cache's response after STALL bytes; then the cache freezes (no
 * byte, connections open). xferd goes on from the origin by Range within
 * CacheFallbackSec and a margin; the next job uses the cache again. */
static void
test_fallback_silent_cache (void)
{
        g_autoptr(Site) site = site_new (NULL, "/f.bin", SIZE);
        if (!site)
                return;
        g_autoptr(XferdEnv) m = machine_behind_cache_new (site->squid, FALLBACK_SEC);

        http_server_stall_after (site->origin, "/f.bin", STALL);
        g_autofree char *job = machine_download (m, site->url, "first.bin", NULL);
        g_assert_true (http_server_wait_stalled (site->origin, "/f.bin", 1, WAIT_TIMEOUT_MS));
        g_assert_true (wait_job_bytes (m, job, STALL, WAIT_TIMEOUT_MS));
        /* The last byte came before this (progress is announced 250 ms late at most). */
        gint64 seen = g_get_monotonic_time ();

        squid_proxy_freeze (site->squid);
        gint64 frozen = g_get_monotonic_time ();
        /* The origin answers again; the frozen cache does not pass it on. */
        http_server_release (site->origin, "/f.bin");
        machine_wait_acknowledged (m, job);
        gint64 took = g_get_monotonic_time () - frozen;
        g_test_message ("finished %.2f s after the cache froze", took / 1e6);
        g_assert_cmpint (took, <, (FALLBACK_SEC + MARGIN_SEC) * G_USEC_PER_SEC);
        /* Not before the cache was silent for CacheFallbackSec. */
        g_assert_cmpint (g_get_monotonic_time () - seen, >=, FALLBACK_SEC * G_USEC_PER_SEC - 300 * 1000);

        assert_file (m, "first.bin", site->content);
        g_assert_cmpuint (http_server_request_count (site->origin, "/f.bin"), ==, 2);
        assert_last_range (site->origin, "/f.bin", STALL);
        assert_sources (m, job, STALL, SIZE - STALL);

        /* The cache is back: it finished its own fetch meanwhile (a client that leaves does
         * not stop it, docs/fleet/squid.conf), and serves the next job entirely. */
        squid_proxy_thaw (site->squid);
        g_autofree char *again = machine_fetch (m, site->url, "second.bin", site->content, SIZE, 0);
        g_assert_cmpuint (http_server_body_bytes (site->origin, "/f.bin"), ==, 2 * SIZE - STALL);
        g_assert_cmpuint (manager_get_uint64 (m, "BytesFromCache"), ==, STALL + SIZE);
        g_assert_cmpuint (manager_get_uint64 (m, "BytesFromOrigin"), ==, SIZE - STALL);
}

/* The cache dies in the middle of a response (connections reset): the file goes on from
 * the origin at once, long before CacheFallbackSec. While it is down, jobs go to the
 * origin; once it is back, through it again. */
static void
test_fallback_cache_gone (void)
{
        g_autoptr(Site) site = site_new (NULL, "/f.bin", SIZE);
        if (!site)
                return;
        g_autoptr(XferdEnv) m = machine_behind_cache_new (site->squid, 60);

        http_server_stall_after (site->origin, "/f.bin", STALL);
        g_autofree char *job = machine_download (m, site->url, "first.bin", NULL);
        g_assert_true (wait_job_bytes (m, job, STALL, WAIT_TIMEOUT_MS));
        gint64 killed = g_get_monotonic_time ();
        squid_proxy_stop (site->squid, SIGKILL);
        /* Dead first, so that no byte after STALL came through it. */
        http_server_release (site->origin, "/f.bin");
        machine_wait_acknowledged (m, job);
        g_assert_cmpint (g_get_monotonic_time () - killed, <, MARGIN_SEC * G_USEC_PER_SEC);
        assert_file (m, "first.bin", site->content);
        assert_last_range (site->origin, "/f.bin", STALL);
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromOrigin"), ==, SIZE - STALL);
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromCache"), ==, STALL);

        /* Unreachable: straight to the origin, no waiting. */
        gint64 started = g_get_monotonic_time ();
        g_autofree char *down = machine_fetch (m, site->url, "second.bin", site->content, 0, SIZE);
        g_assert_cmpint (g_get_monotonic_time () - started, <, MARGIN_SEC * G_USEC_PER_SEC);

        /* Back: used again. */
        squid_proxy_restart (site->squid);
        guint before = squid_proxy_count_requests (site->squid, site->url);
        g_autofree char *back = machine_fetch (m, site->url, "third.bin", site->content, SIZE, 0);
        g_assert_true (squid_proxy_wait_requests (site->squid, site->url, before + 1, WAIT_TIMEOUT_MS));
}

/* A 5xx from the cache (here the origin's own 503, passed on) sends the file to the origin. */
static void
test_fallback_cache_error (void)
{
        g_autoptr(Site) site = site_new (NULL, "/f.bin", SIZE);
        if (!site)
                return;
        g_autoptr(XferdEnv) m = machine_behind_cache_new (site->squid, 60);

        http_server_fail (site->origin, "/f.bin", 503, NULL, -1, 1);
        g_autofree char *job = machine_fetch (m, site->url, "first.bin", site->content, 0, SIZE);
        g_assert_cmpuint (job_get_uint32 (m->fx, job, "ErrorCount"), ==, 0);
        g_assert_cmpuint (squid_proxy_count_requests (site->squid, "/503 "), ==, 1);

        g_autofree char *again = machine_fetch (m, site->url, "second.bin", site->content, SIZE, 0);
}

/* Varnish as the cache, configured as docs/fleet/varnish.vcl says: two machines, one fetch
 * from the origin. A host Varnish does not cache for gets a 503 from it, and the file comes
 * from its origin. */
static void
test_varnish (void)
{
        g_autoptr(HttpServer) origin = http_server_new ();
        g_autoptr(VarnishCache) varnish = varnish_cache_new (http_server_get_port (origin));
        if (!varnish)
                return;
        g_autoptr(GBytes) content = http_server_add_generated (origin, "/update.bin", SIZE);
        g_autofree char *url = http_server_url (origin, "/update.bin");
        g_autofree char *other_host = g_strdup_printf ("http://localhost:%u/update.bin",
                                                       http_server_get_port (origin));
        g_autofree char *config = g_strdup_printf ("[Network]\nCacheHost=%s\n", varnish_cache_host (varnish));
        g_autoptr(XferdEnv) a = machine_new (config, NULL);
        g_autoptr(XferdEnv) b = machine_new (config, NULL);

        g_autofree char *job_a = machine_download (a, url, "update.bin", NULL);
        g_autofree char *job_b = machine_download (b, url, "update.bin", NULL);
        machine_wait_acknowledged (a, job_a);
        machine_wait_acknowledged (b, job_b);
        assert_file (a, "update.bin", content);
        assert_file (b, "update.bin", content);
        g_assert_cmpuint (http_server_body_bytes (origin, "/update.bin"), ==, SIZE);
        assert_sources (a, job_a, SIZE, 0);
        assert_sources (b, job_b, SIZE, 0);

        g_autofree char *other = machine_fetch (a, other_host, "other.bin", content, 0, SIZE);
        g_assert_cmpuint (http_server_body_bytes (origin, "/update.bin"), ==, 2 * SIZE);
}

/* Nothing the bus or the log carries may hold the proxy's credentials. */
static void
assert_no_credentials_anywhere (XferdEnv *m, const char *job)
{
        const char *secrets[] = { PROXY_PASSWORD, PROXY_USER };
        g_autoptr(GError) error = NULL;

        /* Every property of the job and of the manager. */
        g_autoptr(GVariant) props = bus_call (m->fx, job, "org.freedesktop.DBus.Properties", "GetAll",
                                              g_variant_new ("(s)", XFERD_JOB_IFACE), NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) manager = bus_call (m->fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                                "GetAll", g_variant_new ("(s)", XFERD_MANAGER_IFACE), NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) files = bus_call_job (m->fx, job, "ListFiles", NULL, NULL, &error);
        g_assert_no_error (error);
        g_autofree char *props_text = g_variant_print (props, TRUE);
        g_autofree char *manager_text = g_variant_print (manager, TRUE);
        g_autofree char *files_text = g_variant_print (files, TRUE);
        g_test_message ("job properties: %s", props_text);

        /* Every signal the fixture recorded since the start. */
        g_autoptr(GString) signals = g_string_new (NULL);
        for (guint i = 0; i < m->fx->signals->len; i++) {
                RecordedSignal *sig = g_ptr_array_index (m->fx->signals, i);
                g_autofree char *params = g_variant_print (sig->params, TRUE);
                g_string_append_printf (signals, "%s %s %s\n", sig->path, sig->member, params);
        }

        /* What xferctl shows. */
        g_autofree char *info_out = NULL, *info_err = NULL, *list_out = NULL, *list_err = NULL;
        g_assert_cmpint (xferctl_run (m, &info_out, &info_err, "info", xferd_job_id (job), NULL), ==, 0);
        g_assert_cmpint (xferctl_run (m, &list_out, &list_err, "files", xferd_job_id (job), NULL), ==, 0);

        for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++) {
                g_assert_null (strstr (props_text, secrets[i]));
                g_assert_null (strstr (manager_text, secrets[i]));
                g_assert_null (strstr (files_text, secrets[i]));
                g_assert_null (strstr (signals->str, secrets[i]));
                g_assert_null (strstr (info_out, secrets[i]));
                g_assert_null (strstr (info_err, secrets[i]));
                g_assert_null (strstr (list_out, secrets[i]));
                /* xferd logs at debug level in the tests: every line it wrote. */
                g_assert_cmpuint (xferd_log_count (m->log, secrets[i]), ==, 0);
        }
}

/* A proxy that wants Basic authentication: the credentials in Proxy (the setting, and a
 * job's property) work, and show up nowhere: not in a property (shown without them), a
 * signal, a log line, an error, ListFiles or xferctl. */
static void
test_proxy_auth (void)
{
        g_autoptr(Site) site = site_new (&with_auth, "/f.bin", SIZE);
        if (!site)
                return;
        g_autofree char *with_credentials = proxy_with_credentials (site->squid, "http", "");
        g_autofree char *wrong = proxy_with_credentials (site->squid, "http", "-wrong");
        g_autofree char *config = g_strdup_printf ("[Network]\nProxy=%s\n", with_credentials);
        g_autoptr(XferdEnv) m = machine_new (config, NULL);

        /* The daemon's setting. */
        g_autofree char *job = machine_fetch (m, site->url, "setting.bin", site->content, 0, SIZE);
        g_assert_true (squid_wait_authenticated (site->squid, 1));
        assert_job_string (m->fx, job, "Proxy", "");

        /* A job's own Proxy: read back without the userinfo. */
        g_autofree char *own = machine_download_via (m, with_credentials, site->url, "job.bin", FALSE);
        job_wait_state (m->fx, own, "transferred");
        assert_job_string (m->fx, own, "Proxy", squid_proxy_url (site->squid));
        g_assert_true (squid_wait_authenticated (site->squid, 2));

        /* A wrong password: the job fails with the proxy's 407, which names no credential. */
        g_autofree char *refused = machine_download_via (m, wrong, site->url, "refused.bin", TRUE);
        job_wait_state (m->fx, refused, "error");
        g_autofree char *message = job_get_string (m->fx, refused, "ErrorMessage");
        g_test_message ("ErrorMessage: %s", message);
        g_assert_nonnull (strstr (message, "407"));
        g_assert_null (strstr (message, PROXY_PASSWORD));
        assert_no_credentials_anywhere (m, refused);

        /* Given the right credentials with xferctl, the failed job goes through. */
        g_autofree char *set_out = NULL, *set_err = NULL;
        g_assert_cmpint (xferctl_run (m, &set_out, &set_err, "set", xferd_job_id (refused), "proxy", with_credentials,
                                      NULL), ==, 0);
        g_assert_null (strstr (set_out, PROXY_PASSWORD));
        g_assert_null (strstr (set_err, PROXY_PASSWORD));
        assert_job_string (m->fx, refused, "Proxy", squid_proxy_url (site->squid));
        xferd_job_call (m->fx, refused, "Resume");
        machine_wait_acknowledged (m, refused);
        assert_file (m, "refused.bin", site->content);

        /* An invalid value is refused without being quoted back. */
        g_autoptr(GError) error = NULL;
        g_autofree char *bad = proxy_with_credentials (site->squid, "ftp", "");
        bus_set_property (m->fx, own, XFERD_JOB_IFACE, "Proxy", g_variant_new_string (bad), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_test_message ("refused Proxy: %s", error->message);
        g_assert_null (strstr (error->message, PROXY_PASSWORD));
        g_assert_null (strstr (error->message, PROXY_USER));

        assert_no_credentials_anywhere (m, own);
        g_assert_false (xferd_complete (m->fx, own));
        assert_file (m, "job.bin", site->content);
}

static GBytes *
fetch (SoupSession *session, const char *url, GError **error)
{
        g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

        return soup_session_send_and_read (session, msg, NULL, error);
}

/* The harness first: the https test server with a certificate of a CA made in the test is
 * trusted by a client that trusts the CA and refused by one that does not. Here and not in
 * test-http-server: a client handshake through GLib's gnutls module trips LeakSanitizer
 * (its thread walk crashes on the module's dynamic TLS block), and this suite does not run
 * under the sanitizers. */
static void
test_tls (void)
{
        g_autoptr(TlsCa) ca = tls_ca_new_or_skip ();
        g_autoptr(GError) error = NULL;

        if (!ca)
                return;
        g_autoptr(HttpServer) server = tls_ca_server_new (ca);
        g_autoptr(GBytes) content = http_server_add_generated (server, "/f", SMALL);
        g_autofree char *url = http_server_url (server, "/f");
        g_autofree char *prefix = g_strdup_printf ("https://127.0.0.1:%u/", http_server_get_port (server));
        g_assert_true (g_str_has_prefix (url, prefix));

        g_autoptr(GTlsDatabase) db = g_tls_file_database_new (ca->ca_file, &error);
        g_assert_no_error (error);
        g_autoptr(SoupSession) trusting = soup_session_new_with_options ("tls-database", db, NULL);
        g_autoptr(GBytes) body = fetch (trusting, url, &error);
        g_assert_no_error (error);
        g_assert_true (g_bytes_equal (body, content));
        g_assert_true (http_server_wait_body_bytes (server, "/f", SMALL, 10000));

        g_autoptr(GTlsDatabase) other_db = g_tls_file_database_new ("/dev/null", NULL);
        g_autoptr(SoupSession) refusing = soup_session_new_with_options ("tls-database", other_db, NULL);
        g_autoptr(GBytes) refused = fetch (refusing, url, &error);
        g_assert_null (refused);
        g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
}

/* A job's Proxy, credentials and all, and its counters survive a restart of xferd (a
 * crash): the recovered job goes on through its authenticating proxy by Range. */
static void
test_job_proxy_survives_restart (void)
{
        g_autoptr(Site) site = site_new (&with_auth, "/f.bin", SIZE);
        if (!site)
                return;
        g_autofree char *with_credentials = proxy_with_credentials (site->squid, "http", "");
        g_autoptr(XferdEnv) m = machine_new (NULL, NULL);

        http_server_stall_after (site->origin, "/f.bin", STALL);
        g_autofree char *job = machine_download_via (m, with_credentials, site->url, "kept.bin", TRUE);
        /* BytesFromOrigin is announced once it is in the store; the temporary file, which
         * the resume starts from, holds the bytes once the writer has written them. */
        g_assert_true (job_wait_changed_uint64 (m->fx, job, "BytesFromOrigin", STALL, STALL, WAIT_TIMEOUT_MS));
        g_free (xferd_wait_temp (m->fx, job, 0, STALL));
        xferd_process_kill (m->fx);
        http_server_release (site->origin, "/f.bin");
        xferd_process_start (m->fx);

        machine_wait_acknowledged (m, job);
        assert_file (m, "kept.bin", site->content);
        assert_sources (m, job, 0, SIZE);
        /* A range through the proxy: squid answered 206 (it fetches whole files from the
         * origin itself, docs/fleet/squid.conf). */
        g_assert_true (squid_proxy_wait_requests (site->squid, "/206 ", 1, WAIT_TIMEOUT_MS));
        assert_job_string (m->fx, job, "Proxy", squid_proxy_url (site->squid));
        g_assert_true (squid_wait_authenticated (site->squid, 2));
        g_assert_cmpuint (xferd_log_count (m->log, PROXY_PASSWORD), ==, 0);
        g_assert_cmpuint (xferd_log_count (m->log, PROXY_USER), ==, 0);
}

static gboolean
announces_more_from_origin (const RecordedSignal *sig, gpointer data)
{
        const guint64 *above = data;
        g_autoptr(GVariant) changed = g_variant_get_child_value (sig->params, 1);
        guint64 v;

        return g_variant_lookup (changed, "BytesFromOrigin", "t", &v) && v > *above;
}

/* Waits for a PropertiesChanged of job announcing BytesFromOrigin above `above`; the value. */
static guint64
wait_announced_from_origin (XferdEnv *m, const char *job, guint64 above)
{
        guint64 announced = 0;
        const RecordedSignal *sig = bus_wait_signal (m->fx, NULL, job, "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged", announces_more_from_origin,
                                                     &above, WAIT_TIMEOUT_MS);

        g_assert_nonnull (sig);
        g_autoptr(GVariant) changed = g_variant_get_child_value (sig->params, 1);
        g_assert_true (g_variant_lookup (changed, "BytesFromOrigin", "t", &announced));
        return announced;
}

/* Every counter a signal announced is in the store: a job killed right after a signal comes
 * back with at least the BytesFromOrigin it announced, also when the signal was a state
 * change that is itself not stored (connecting → transferring) and bytes came with it. */
static void
test_announced_counters_survive_kill (void)
{
        g_autoptr(HttpServer) origin = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (origin, "/f.bin", SIZE);
        g_autofree char *url = http_server_url (origin, "/f.bin");
        g_autoptr(XferdEnv) m = machine_new (NULL, NULL);
        g_autofree char *dest = xferd_env_path (m, "counted.bin");
        g_autofree char *job = xferd_create_job (m->fx, "counted", NULL);

        http_server_set_rate (origin, "/f.bin", 256 * 1024);
        /* Progress signals later than the checkpoints: the first one with bytes is the state's. */
        job_set (m->fx, job, "MinimumNotificationInterval", g_variant_new_uint32 (1100));
        job_set (m->fx, job, "AutoComplete", g_variant_new_boolean (TRUE));
        xferd_add_file (m->fx, job, url, dest);
        xferd_job_call (m->fx, job, "Resume");
        /* The first signal with bytes: the state transferring, told with the bytes of the
         * loop iteration that brought the response. */
        guint64 announced = wait_announced_from_origin (m, job, 0);
        g_autofree char *temp = xferd_temp_path (m->fx, job, 0);
        xferd_process_kill (m->fx);
        g_assert_cmpuint (announced, <, SIZE);
        /* Bytes that came between that signal and the kill (the next 100 ms of the rate, when
         * the kill is late) are in the file, which the resume starts from, but no commit
         * counted them: the contract's one loss of a kill -9 (docs/api.md). */
        struct stat st;
        g_assert_cmpint (stat (temp, &st), ==, 0);
        guint64 uncounted = (guint64) st.st_size > announced ? (guint64) st.st_size - announced : 0;
        /* No byte more until the count is read back. */
        http_server_stall_after (origin, "/f.bin", 0);
        http_server_set_rate (origin, "/f.bin", 0);
        xferd_process_start (m->fx);
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromOrigin"), >=, announced);

        http_server_release (origin, "/f.bin");
        machine_wait_acknowledged (m, job);
        assert_file (m, "counted.bin", content);
        g_assert_cmpuint (job_get_uint64 (m->fx, job, "BytesFromOrigin") + uncounted, >=, SIZE);
}

static gboolean
announces_state_queued (const RecordedSignal *sig, gpointer data)
{
        g_autoptr(GVariant) changed = g_variant_get_child_value (sig->params, 1);
        const char *state;

        return g_variant_lookup (changed, "State", "&s", &state) && g_str_equal (state, "queued") &&
               g_variant_lookup (changed, "BytesFromOrigin", "t", NULL);
}

/* A preemption (transferring → queued, not stored) announces the counters with the state; a
 * kill -9 right after that signal does not lose them. */
static void
test_preempted_counters_survive_kill (void)
{
        g_autoptr(HttpServer) origin = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (origin, "/f.bin", SIZE);
        g_autoptr(GBytes) other = http_server_add_generated (origin, "/g.bin", SIZE);
        g_autofree char *url = http_server_url (origin, "/f.bin");
        g_autofree char *url2 = http_server_url (origin, "/g.bin");
        g_autoptr(XferdEnv) m = machine_new ("[Daemon]\nMaxBackgroundTransfers=1\n", NULL);
        g_autofree char *dest = xferd_env_path (m, "low.bin");
        g_autofree char *dest2 = xferd_env_path (m, "high.bin");
        g_autofree char *low = xferd_create_job (m->fx, "low", NULL);
        guint64 announced = 0;

        http_server_set_rate (origin, "/f.bin", 256 * 1024);
        http_server_stall_after (origin, "/g.bin", 0);
        job_set (m->fx, low, "Priority", g_variant_new_string ("low"));
        xferd_add_file (m->fx, low, url, dest);
        xferd_job_call (m->fx, low, "Resume");
        g_autofree char *high = xferd_create_job (m->fx, "high", NULL);
        job_set (m->fx, high, "Priority", g_variant_new_string ("high"));
        xferd_add_file (m->fx, high, url2, dest2);
        /* Bytes flowed past a checkpoint or two, and more since the last one (Get reads the
         * count in memory): then the high job takes the only slot. */
        guint64 checkpoint = wait_announced_from_origin (m, low, 128 * 1024);
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);
        while (job_get_uint64 (m->fx, low, "BytesFromOrigin") <= checkpoint)
                g_assert_true (poll_again (deadline, 5));
        guint from = m->fx->signals->len;
        xferd_job_call (m->fx, high, "Resume");
        const RecordedSignal *sig = bus_wait_signal (m->fx, &from, low, "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged", announces_state_queued, NULL,
                                                     WAIT_TIMEOUT_MS);
        g_assert_nonnull (sig);
        g_autoptr(GVariant) changed = g_variant_get_child_value (sig->params, 1);
        g_assert_true (g_variant_lookup (changed, "BytesFromOrigin", "t", &announced));
        xferd_process_kill (m->fx);
        http_server_stall_after (origin, "/f.bin", 0);
        xferd_process_start (m->fx);
        guint64 stored = job_get_uint64 (m->fx, low, "BytesFromOrigin");
        g_test_message ("announced %" G_GUINT64_FORMAT " stored %" G_GUINT64_FORMAT, announced, stored);
        g_assert_cmpuint (stored, >=, announced);
}

/* The environment's http_proxy counts when nothing is set; Proxy=direct (the setting, or
 * a job's property) overrides it. */
static void
test_direct_overrides_environment (void)
{
        g_autoptr(Site) site = site_new (NULL, "/f.bin", SIZE);
        if (!site)
                return;

        /* Nothing set: the environment's proxy. */
        g_autoptr(XferdEnv) plain = machine_new (NULL, squid_proxy_url (site->squid));
        /* Through a proxy that is not the cache: bytes from the origin. */
        g_autofree char *via_env = machine_fetch (plain, site->url, "env.bin", site->content, 0, SIZE);
        g_assert_true (squid_proxy_wait_requests (site->squid, site->url, 1, WAIT_TIMEOUT_MS));

        /* A job's Proxy=direct. */
        g_autofree char *own = machine_download_via (plain, "direct", site->url, "job.bin", TRUE);
        machine_wait_acknowledged (plain, own);
        assert_file (plain, "job.bin", site->content);
        assert_job_string (plain->fx, own, "Proxy", "direct");

        /* The setting Proxy=direct. */
        g_autoptr(XferdEnv) direct = machine_new ("[Network]\nProxy=direct\n", squid_proxy_url (site->squid));
        g_autofree char *job = machine_fetch (direct, site->url, "direct.bin", site->content, 0, SIZE);

        g_assert_cmpuint (http_server_request_count (site->origin, "/f.bin"), ==, 3);
        g_assert_cmpuint (squid_proxy_count_requests (site->squid, site->url), ==, 1);
}

/* NoProxy hosts are reached directly, past the proxy and the cache; others are not. */
static void
test_no_proxy (void)
{
        g_autoptr(Site) site = site_new (NULL, "/f.bin", SIZE);
        if (!site)
                return;
        const char *by_address = site->url;
        g_autofree char *by_name = g_strdup_printf ("http://localhost:%u/f.bin", http_server_get_port (site->origin));
        g_autofree char *config = g_strdup_printf ("[Network]\nProxy=%s\nCacheHost=%s\nNoProxy=localhost\n",
                                                   squid_proxy_url (site->squid), squid_proxy_host (site->squid));
        g_autoptr(XferdEnv) m = machine_new (config, NULL);

        g_autofree char *named = machine_fetch (m, by_name, "named.bin", site->content, 0, SIZE);
        g_autofree char *numbered = machine_fetch (m, by_address, "numbered.bin", site->content, SIZE, 0);

        g_assert_true (squid_proxy_wait_requests (site->squid, by_address, 1, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (squid_proxy_count_requests (site->squid, "localhost"), ==, 0);
}

/* An https origin through the proxy: a CONNECT tunnel (nothing cached, not even with a
 * CacheHost), the server's certificate from a CA that only CAFile= makes trusted. */
static void
test_https_connect (void)
{
        g_autoptr(SquidProxy) squid = squid_proxy_new (NULL);
        if (!squid)
                return;
        g_autoptr(TlsCa) ca = tls_ca_new_or_skip ();
        if (!ca)
                return;
        g_autoptr(HttpServer) origin = tls_ca_server_new (ca);
        g_autoptr(GBytes) content = http_server_add_generated (origin, "/f.bin", SIZE);
        g_autofree char *url = http_server_url (origin, "/f.bin");
        g_autofree char *connect = g_strdup_printf ("CONNECT 127.0.0.1:%u", http_server_get_port (origin));

        g_autofree char *config = g_strdup_printf ("[Network]\nProxy=%s\nCacheHost=%s\nCAFile=%s\n",
                                                   squid_proxy_url (squid), squid_proxy_host (squid),
                                                   ca->ca_file);
        g_autoptr(XferdEnv) m = machine_new (config, NULL);
        g_autofree char *job = machine_fetch (m, url, "tls.bin", content, 0, SIZE);
        g_assert_cmpuint (http_server_body_bytes (origin, "/f.bin"), ==, SIZE);
        /* squid logs a tunnel when it closes: xferd keeps its connections until it ends. */
        g_clear_pointer (&m, xferd_env_free);
        g_assert_true (squid_proxy_wait_requests (squid, connect, 1, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (squid_proxy_count_requests (squid, "GET https://"), ==, 0);

        /* Without CAFile the certificate is not trusted: the same download fails. */
        g_autofree char *untrusting = g_strdup_printf ("[Network]\nProxy=%s\n", squid_proxy_url (squid));
        g_autoptr(XferdEnv) other = machine_new (untrusting, NULL);
        g_autofree char *refused = machine_download (other, url, "tls.bin", NULL);
        job_wait_state (other->fx, refused, "error");
        g_autofree char *name = job_get_string (other->fx, refused, "ErrorName");
        g_test_message ("without CAFile: %s", name);
        g_assert_cmpstr (name, ==, XFERD_ERROR ("Tls"));
        g_assert_true (squid_proxy_wait_requests (squid, connect, 2, WAIT_TIMEOUT_MS));
}

const TestCase test_cases[] = {
        { "/fleet/tls-test-server", test_tls },
        { "/fleet/two-machines", test_two_machines },
        { "/fleet/fallback/silent-cache", test_fallback_silent_cache },
        { "/fleet/fallback/cache-gone", test_fallback_cache_gone },
        { "/fleet/fallback/cache-error", test_fallback_cache_error },
        { "/fleet/varnish", test_varnish },
        { "/fleet/proxy-auth", test_proxy_auth },
        { "/fleet/job-proxy-survives-restart", test_job_proxy_survives_restart },
        { "/fleet/announced-counters-survive-kill", test_announced_counters_survive_kill },
        { "/fleet/preempted-counters-survive-kill", test_preempted_counters_survive_kill },
        { "/fleet/direct-overrides-environment", test_direct_overrides_environment },
        { "/fleet/no-proxy", test_no_proxy },
        { "/fleet/https-connect", test_https_connect },
        { NULL, NULL }
};
