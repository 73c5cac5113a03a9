/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of daemon/proxy.c (which way a request goes, how a proxy URL is
 * shown) and of the [Network] section of xferd.conf (daemon/settings.c).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "proxy.h"
#include "settings.h"
#include "test-cases.h"

/* An @ in a password is written %40, as in any URL. */
#define SECRET "pa55:w%40rd"

static void
test_redact (void)
{
        const struct {
                const char *in, *out;
        } cases[] = {
                { "http://user:" SECRET "@proxy.example:3128", "http://proxy.example:3128" },
                { "http://user:" SECRET "@proxy.example:3128/", "http://proxy.example:3128/" },
                { "https://user@[::1]:8443", "https://[::1]:8443" },
                { "http://proxy.example:3128", "http://proxy.example:3128" },
                /* The last '@' of the authority ends the userinfo; an '@' after it is not userinfo. */
                { "http://a@b@proxy:1/x@y", "http://proxy:1/x@y" },
                { "direct", "direct" },
                { "", "" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                g_autofree char *r = proxy_redact (cases[i].in);
                g_assert_cmpstr (r, ==, cases[i].out);
                g_assert_null (strstr (r, "pa55"));
        }
        g_assert_true (proxy_has_credentials ("http://u:" SECRET "@p:1"));
        g_assert_true (proxy_has_credentials ("http://u@p:1"));
        g_assert_false (proxy_has_credentials ("http://p:1/a@b"));
        g_assert_false (proxy_has_credentials ("direct"));
        g_autofree char *null_value = proxy_redact (NULL);
        g_assert_cmpstr (null_value, ==, "");
}

static void
test_proxy_value (void)
{
        const char *good[] = {
                "", "direct", "http://proxy:3128", "http://proxy:3128/", "https://proxy.example",
                "HTTP://Proxy:3128", "http://user:" SECRET "@proxy:3128", "http://[::1]:3128",
                "http://127.0.0.1:3128",
        };
        const char *bad[] = {
                "proxy:3128", "socks5://proxy:1080", "ftp://proxy", "http://", "http://proxy:3128/path",
                "http://proxy:3128?x=1", "http://proxy:3128#f", "http://pro xy:3128", "http://proxy:99999",
                "direct ", "DIRECT", "http://proxy:3128\n",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (good); i++) {
                g_test_message ("good: %s", good[i]);
                g_assert_true (proxy_value_is_valid (good[i]));
        }
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_test_message ("bad: %s", bad[i]);
                g_assert_false (proxy_value_is_valid (bad[i]));
        }
        g_assert_true (proxy_value_is_valid (NULL));
}

static void
test_cache_host (void)
{
        const char *good[] = { "cache:3128", "cache.site.example:80", "127.0.0.1:1", "[::1]:65535", "[fe80::1]:3128" };
        const char *bad[] = {
                "", "cache", "cache:", ":3128", "cache:0", "cache:65536", "cache:31a", "::1:3128",
                "http://cache:3128", "cache:3128/", "user@cache:3128", "ca che:3128", "[]:3128",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
                g_assert_true (proxy_cache_host_is_valid (good[i]));
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_test_message ("%s", bad[i]);
                g_assert_false (proxy_cache_host_is_valid (bad[i]));
        }
}

static void
test_no_proxy (void)
{
        const char *list = "example.com, .internal.test 10.0.0.0/8,192.168.1.7, ::1, fd00::/8";

        g_assert_true (proxy_no_proxy_is_valid (list));
        g_assert_true (proxy_no_proxy_is_valid ("*"));
        g_assert_true (proxy_no_proxy_is_valid (""));
        g_assert_false (proxy_no_proxy_is_valid (","));
        g_assert_false (proxy_no_proxy_is_valid ("exa$mple.com"));
        g_assert_false (proxy_no_proxy_is_valid ("10.0.0.0/33"));
        g_assert_false (proxy_no_proxy_is_valid ("10.0.0.0/"));
        g_assert_false (proxy_no_proxy_is_valid ("host/8"));
        g_assert_false (proxy_no_proxy_is_valid ("a\nb"));

        g_assert_true (proxy_no_proxy_matches (list, "example.com"));
        g_assert_true (proxy_no_proxy_matches (list, "EXAMPLE.com."));
        g_assert_true (proxy_no_proxy_matches (list, "dl.example.com"));
        g_assert_false (proxy_no_proxy_matches (list, "badexample.com"));
        g_assert_false (proxy_no_proxy_matches (list, "example.com.evil"));
        g_assert_true (proxy_no_proxy_matches (list, "internal.test"));
        g_assert_true (proxy_no_proxy_matches (list, "a.b.internal.test"));
        g_assert_true (proxy_no_proxy_matches (list, "10.200.3.4"));
        g_assert_false (proxy_no_proxy_matches (list, "11.0.0.1"));
        g_assert_true (proxy_no_proxy_matches (list, "192.168.1.7"));
        g_assert_false (proxy_no_proxy_matches (list, "192.168.1.70"));
        g_assert_true (proxy_no_proxy_matches (list, "[::1]"));
        g_assert_true (proxy_no_proxy_matches (list, "0:0::1"));
        g_assert_true (proxy_no_proxy_matches (list, "[fd12::5]"));
        g_assert_false (proxy_no_proxy_matches (list, "[fe80::1]"));
        /* A name entry is never a suffix of an address. */
        g_assert_false (proxy_no_proxy_matches ("0.0.1", "127.0.0.1"));
        g_assert_true (proxy_no_proxy_matches ("*", "anything.example"));
        g_assert_false (proxy_no_proxy_matches (NULL, "example.com"));
}

typedef struct {
        const char *proxy, *no_proxy, *cache_host;
        const char *job_proxy, *url;
        gboolean skip_cache;
        ProxyRouteKind kind;
        const char *via;
} RouteCase;

static void
test_route (void)
{
        const RouteCase cases[] = {
                /* Nothing set: curl reads the environment, as before. */
                { NULL, NULL, NULL, NULL, "http://o.example/f", FALSE, PROXY_ROUTE_ENVIRONMENT, NULL },
                { "direct", NULL, NULL, NULL, "http://o.example/f", FALSE, PROXY_ROUTE_DIRECT, NULL },
                { "http://p:3128", NULL, NULL, NULL, "https://o.example/f", FALSE, PROXY_ROUTE_PROXY, "http://p:3128" },
                /* The cache takes http; https goes the proxy's way (CONNECT), never the cache's. */
                { "http://p:3128", NULL, "c:3128", NULL, "http://o.example/f", FALSE, PROXY_ROUTE_CACHE, "http://c:3128" },
                { "http://p:3128", NULL, "c:3128", NULL, "https://o.example/f", FALSE, PROXY_ROUTE_PROXY, "http://p:3128" },
                { NULL, NULL, "c:3128", NULL, "https://o.example/f", FALSE, PROXY_ROUTE_ENVIRONMENT, NULL },
                { "direct", NULL, "c:3128", NULL, "HTTP://o.example/f", FALSE, PROXY_ROUTE_CACHE, "http://c:3128" },
                /* After a fallback, the origin the way it is reached without the cache. */
                { "http://p:3128", NULL, "c:3128", NULL, "http://o.example/f", TRUE, PROXY_ROUTE_PROXY, "http://p:3128" },
                { NULL, NULL, "c:3128", NULL, "http://o.example/f", TRUE, PROXY_ROUTE_ENVIRONMENT, NULL },
                /* A job's Proxy decides for that job: no cache. */
                { "http://p:3128", NULL, "c:3128", "direct", "http://o.example/f", FALSE, PROXY_ROUTE_DIRECT, NULL },
                { NULL, NULL, "c:3128", "http://j:8080", "http://o.example/f", FALSE, PROXY_ROUTE_PROXY, "http://j:8080" },
                { "direct", NULL, NULL, "http://j:8080", "https://o.example/f", FALSE, PROXY_ROUTE_PROXY, "http://j:8080" },
                /* NoProxy hosts are always reached directly. */
                { "http://p:3128", "example", "c:3128", NULL, "http://o.example/f", FALSE, PROXY_ROUTE_DIRECT, NULL },
                { NULL, "127.0.0.0/8", NULL, NULL, "http://127.0.0.1:8080/f", FALSE, PROXY_ROUTE_DIRECT, NULL },
                { NULL, "::1", NULL, "http://j:8080", "http://[::1]:8080/f", FALSE, PROXY_ROUTE_DIRECT, NULL },
                { "http://p:3128", "other.example", NULL, NULL, "http://o.example/f", FALSE, PROXY_ROUTE_PROXY, "http://p:3128" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                const RouteCase *c = &cases[i];
                ProxySettings s;
                ProxyRoute route;

                g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, c->url);
                proxy_settings_init (&s);
                g_assert_cmpint (proxy_settings_set_proxy (&s, c->proxy), ==, 0);
                g_assert_cmpint (proxy_settings_set_no_proxy (&s, c->no_proxy), ==, 0);
                g_assert_cmpint (proxy_settings_set_cache_host (&s, c->cache_host), ==, 0);
                g_assert_cmpint (proxy_route (&s, c->job_proxy, c->url, c->skip_cache, &route), ==, 0);
                g_assert_cmpint (route.kind, ==, c->kind);
                g_assert_cmpstr (route.proxy, ==, c->via);
                proxy_settings_done (&s);
        }

        ProxySettings s;
        ProxyRoute route;
        proxy_settings_init (&s);
        g_assert_cmpint (proxy_route (&s, NULL, "ftp://o.example/f", FALSE, &route), ==, -EINVAL);
        g_assert_cmpint (proxy_route (&s, NULL, "not a url", FALSE, &route), ==, -EINVAL);
        proxy_settings_done (&s);
}

/* Which ends of a request through the cache send the file to the origin. */
static void
test_cache_failed (void)
{
        /* Unreachable, silent, cut off, broken: the cache's failure. */
        g_assert_true (proxy_cache_failed (CURLE_COULDNT_CONNECT, 0, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_COULDNT_RESOLVE_PROXY, 0, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_OPERATION_TIMEDOUT, 200, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_PARTIAL_FILE, 200, TRUE));
        g_assert_true (proxy_cache_failed (CURLE_RECV_ERROR, 200, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_GOT_NOTHING, 0, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_OK, 502, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_OK, 503, FALSE));
        g_assert_true (proxy_cache_failed (CURLE_OK, 200, TRUE));
        /* The origin's answers, passed on, and our own stops. */
        g_assert_false (proxy_cache_failed (CURLE_OK, 200, FALSE));
        g_assert_false (proxy_cache_failed (CURLE_OK, 206, FALSE));
        g_assert_false (proxy_cache_failed (CURLE_OK, 404, FALSE));
        g_assert_false (proxy_cache_failed (CURLE_OK, 416, FALSE));
        g_assert_false (proxy_cache_failed (CURLE_WRITE_ERROR, 200, FALSE));
        g_assert_false (proxy_cache_failed (CURLE_ABORTED_BY_CALLBACK, 200, FALSE));
}

static void
test_settings_setters (void)
{
        ProxySettings s, copy;

        proxy_settings_init (&s);
        g_assert_cmpuint (s.cache_fallback_usec, ==, 30 * G_USEC_PER_SEC);
        g_assert_cmpint (proxy_settings_set_proxy (&s, "http://u:" SECRET "@p:3128"), ==, 0);
        /* A bad value changes nothing. */
        g_assert_cmpint (proxy_settings_set_proxy (&s, "ftp://x"), ==, -EINVAL);
        g_assert_cmpstr (s.proxy, ==, "http://u:" SECRET "@p:3128");
        g_assert_cmpint (proxy_settings_set_cache_host (&s, "cache:3128"), ==, 0);
        g_assert_cmpstr (s.cache_url, ==, "http://cache:3128");
        g_assert_cmpint (proxy_settings_set_cache_host (&s, "cache"), ==, -EINVAL);
        g_assert_cmpstr (s.cache_host, ==, "cache:3128");
        g_assert_cmpint (proxy_settings_set_ca_file (&s, "relative.pem"), ==, -EINVAL);
        g_assert_cmpint (proxy_settings_set_ca_file (&s, "/etc/ssl/site.pem"), ==, 0);
        g_assert_cmpint (proxy_settings_copy (&s, &copy), ==, 0);
        g_assert_cmpstr (copy.proxy, ==, s.proxy);
        g_assert_true (copy.proxy != s.proxy);
        g_assert_cmpstr (copy.cache_url, ==, "http://cache:3128");
        g_assert_cmpstr (copy.ca_file, ==, "/etc/ssl/site.pem");
        /* Empty unsets. */
        g_assert_cmpint (proxy_settings_set_cache_host (&s, ""), ==, 0);
        g_assert_null (s.cache_host);
        g_assert_null (s.cache_url);
        g_assert_cmpint (proxy_settings_set_proxy (&s, ""), ==, 0);
        g_assert_null (s.proxy);
        proxy_settings_done (&s);
        proxy_settings_done (&copy);
}

/* Loads text as xferd.conf with stderr (the daemon's log) captured into *log. */
static int
load_settings (const char *text, DaemonSettings *s, char **log)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("xferd-test-proxy-XXXXXX", &error);
        g_assert_no_error (error);
        g_autofree char *conf = g_build_filename (dir, "xferd.conf", NULL);
        g_autofree char *out = g_build_filename (dir, "stderr", NULL);
        g_file_set_contents (conf, text, -1, &error);
        g_assert_no_error (error);

        fflush (stderr);
        int saved = dup (STDERR_FILENO);
        int fd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint (fd, >=, 0);
        g_assert_cmpint (dup2 (fd, STDERR_FILENO), ==, STDERR_FILENO);
        close (fd);
        int r = settings_load (conf, s);
        fflush (stderr);
        g_assert_cmpint (dup2 (saved, STDERR_FILENO), ==, STDERR_FILENO);
        close (saved);

        g_file_get_contents (out, log, NULL, &error);
        g_assert_no_error (error);
        g_test_message ("log: %s", *log);
        g_remove (out);
        g_remove (conf);
        g_rmdir (dir);
        return r;
}

static void
test_settings_file (void)
{
        DaemonSettings s = { 0 };
        g_autofree char *log = NULL;

        proxy_settings_init (&s.manager.transfer.network);
        g_assert_cmpint (load_settings ("[Daemon]\n"
                                        "MaxJobs=7\n"
                                        "[Network]\n"
                                        "Proxy = http://u:" SECRET "@proxy.site:3128\n"
                                        "NoProxy=.site.example, 10.0.0.0/8\n"
                                        "CacheHost=cache.site:3128\n"
                                        "CacheFallbackSec=0\n"
                                        "CAFile=/etc/ssl/site-ca.pem\n",
                                        &s, &log), ==, 0);
        g_assert_cmpuint (s.manager.max_jobs, ==, 7);
        g_assert_cmpstr (s.manager.transfer.network.proxy, ==, "http://u:" SECRET "@proxy.site:3128");
        g_assert_cmpstr (s.manager.transfer.network.no_proxy, ==, ".site.example, 10.0.0.0/8");
        g_assert_cmpstr (s.manager.transfer.network.cache_url, ==, "http://cache.site:3128");
        g_assert_cmpuint (s.manager.transfer.network.cache_fallback_usec, ==, 0);
        g_assert_cmpstr (s.manager.transfer.network.ca_file, ==, "/etc/ssl/site-ca.pem");
        g_assert_null (strstr (log, "pa55"));
        proxy_settings_done (&s.manager.transfer.network);
}

static void
test_settings_defaults (void)
{
        DaemonSettings s = { 0 };
        g_autofree char *log = NULL;

        proxy_settings_init (&s.manager.transfer.network);
        g_assert_cmpint (load_settings ("[Network]\nCacheHost=c:1\n", &s, &log), ==, 0);
        g_assert_null (s.manager.transfer.network.proxy);
        g_assert_cmpuint (s.manager.transfer.network.cache_fallback_usec, ==, 30 * G_USEC_PER_SEC);
        proxy_settings_done (&s.manager.transfer.network);
}

/* An xferd.conf, what loading it returns, and what the log then says. */
typedef struct {
        const char *text;       /* NULL ends a table */
        int result;
        const char *said;
} SettingsCase;

/* A bad proxy URL stops the daemon with a message that names the key, not the value. */
static const SettingsCase invalid_secret_cases[] = {
        { "[Network]\nProxy=ftp://u:" SECRET "@proxy.site:21\n", -EINVAL, ":2: invalid value for " },
        { "[Network]\nProxy=http://u:" SECRET "@proxy.site:3128/path\n", -EINVAL, ":2: invalid value for " },
        { "[Network]\nCacheHost=u:" SECRET "@cache:3128\n", -EINVAL, ":2: invalid value for " },
        { "[Network]\nNoProxy=u:" SECRET "@host\n", -EINVAL, ":2: invalid value for " },
        { NULL, 0, NULL }
};

/* Numbers out of range and relative paths name their key; a key in the wrong section is read,
 * with a warning. */
static const SettingsCase bad_number_cases[] = {
        { "[Network]\nCacheFallbackSec=86401\n", -EINVAL, "CacheFallbackSec" },
        { "[Network]\nCAFile=site.pem\n", -EINVAL, "CAFile" },
        { "[Daemon]\nCacheHost=c:3128\n", 0, "belongs in [Network]" },
        { NULL, 0, NULL }
};

/* Every case of the table on fresh settings; a case that loads gives the cache host c:3128, a
 * case that fails sets no proxy. The secret is never in the log. */
static void
test_settings_cases (gconstpointer data)
{
        for (const SettingsCase *c = data; c->text; c++) {
                DaemonSettings s = { 0 };
                g_autofree char *log = NULL;

                proxy_settings_init (&s.manager.transfer.network);
                g_assert_cmpint (load_settings (c->text, &s, &log), ==, c->result);
                g_assert_nonnull (strstr (log, c->said));
                g_assert_null (strstr (log, "pa55"));
                if (c->result == 0)
                        g_assert_cmpstr (s.manager.transfer.network.cache_host, ==, "c:3128");
                else
                        g_assert_null (s.manager.transfer.network.proxy);
                proxy_settings_done (&s.manager.transfer.network);
        }
}

const TestCase test_cases[] = {
        { "/proxy/redact", test_redact },
        { "/proxy/value", test_proxy_value },
        { "/proxy/cache-host", test_cache_host },
        { "/proxy/no-proxy", test_no_proxy },
        { "/proxy/route", test_route },
        { "/proxy/cache-failed", test_cache_failed },
        { "/proxy/settings-setters", test_settings_setters },
        { "/proxy/settings-file", test_settings_file },
        { "/proxy/settings-defaults", test_settings_defaults },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/proxy/settings-invalid-secret", test_settings_cases, invalid_secret_cases },
        { "/proxy/settings-bad-numbers", test_settings_cases, bad_number_cases },
        { NULL, NULL, NULL }
};
