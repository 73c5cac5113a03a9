/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "varnish-cache.h"

#include "peer.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#define START_TIMEOUT_MS 60000

struct VarnishCache {
        char *dir;
        char *host;
        GSubprocess *proc;
};

static char *
replace_all (const char *text, const char *from, const char *to)
{
        g_auto(GStrv) parts = g_strsplit (text, from, -1);

        return g_strjoinv (to, parts);
}

/* The documented VCL with its origin replaced by the test's. */
static char *
make_vcl (guint16 origin_port)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_build_filename (g_getenv ("XFERD_SOURCE_ROOT"), "docs", "fleet",
                                                  "varnish.vcl", NULL);
        g_autofree char *text = NULL;
        g_autofree char *with_port = g_strdup_printf ("127.0.0.1:%u", origin_port);
        g_autofree char *port_line = g_strdup_printf (".port = \"%u\";", origin_port);

        g_file_get_contents (path, &text, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (strstr (text, "updates.example.com:80"));
        g_assert_nonnull (strstr (text, ".port = \"80\";"));
        g_autofree char *a = replace_all (text, "updates.example.com:80", with_port);
        g_autofree char *b = replace_all (a, "updates.example.com", "127.0.0.1");
        return replace_all (b, ".port = \"80\";", port_line);
}

VarnishCache *
varnish_cache_new (guint16 origin_port)
{
        g_autoptr(GError) error = NULL;
        const char *varnishd = g_getenv ("VARNISHD");

        if (!g_getenv ("XFERD_SOURCE_ROOT")) {
                peer_unavailable ("varnishd", "XFERD_SOURCE_ROOT is not set (run the tests with meson test)");
                return NULL;
        }
        if (!varnishd || !*varnishd) {
                peer_unavailable ("varnishd", "varnishd was not found when meson configured the build "
                             "(scripts/setup-deps.sh installs Debian's varnish; then reconfigure)");
                return NULL;
        }

        VarnishCache *v = g_new0 (VarnishCache, 1);
        v->dir = g_dir_make_tmp ("xferd-varnish-XXXXXX", &error);
        g_assert_no_error (error);
        g_autofree char *vcl_path = g_build_filename (v->dir, "site.vcl", NULL);
        g_autofree char *work = g_build_filename (v->dir, "work", NULL);
        g_autofree char *vcl = make_vcl (origin_port);
        g_file_set_contents (vcl_path, vcl, -1, &error);
        g_assert_no_error (error);

        for (guint attempt = 0; attempt < 5 && !v->host; attempt++) {
                guint16 port = peer_free_port ();
                g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
                /* -j none: no privilege separation (the test's user); -T none: no management port. */
                const char *argv[] = { varnishd, "-F", "-j", "none", "-n", work, "-a", listen, "-f", vcl_path,
                                       "-s", "malloc,256m", "-T", "none", NULL };
                g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGKILL);

                v->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
                g_assert_no_error (error);
                /* varnishd compiles the VCL first, which takes a while. */
                if (peer_wait_port (v->proc, port, START_TIMEOUT_MS))
                        v->host = g_steal_pointer (&listen);
                else
                        peer_stop (&v->proc, SIGKILL);
        }
        if (!v->host) {
                g_test_fail_printf ("varnishd (%s) did not start", varnishd);
                varnish_cache_free (v);
                return NULL;
        }
        g_test_message ("varnish on %s (directory %s)", v->host, v->dir);
        return v;
}

void
varnish_cache_free (VarnishCache *v)
{
        if (!v)
                return;
        /* The manager takes its cache process with it on SIGTERM. */
        peer_stop (&v->proc, SIGTERM);
        peer_remove_tree (v->dir);
        g_free (v->dir);
        g_free (v->host);
        g_free (v);
}

const char *
varnish_cache_host (VarnishCache *v)
{
        return v->host;
}
