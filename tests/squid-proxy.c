/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "squid-proxy.h"

#include "peer.h"
#include "poll-wait.h"
#include "proc-stat.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#define START_TIMEOUT_MS 30000

struct SquidProxy {
        char *squid;            /* the binary */
        char *dir;              /* everything of this instance */
        char *conf;
        char *access_log;
        char *cache_log;
        guint16 port;
        char *host;
        char *url;
        GSubprocess *proc;      /* squid -N, while it runs */
        GSubprocess *reaper;    /* kills squid when the test process ends, however it ends */
        gboolean frozen;
};

/* Where meson found squid and its Basic authentication helper; NULL when it did not. */
static const char *
env_path (const char *name)
{
        const char *v = g_getenv (name);

        return v && *v ? v : NULL;
}

static char *
why_unavailable (const SquidOptions *options)
{
        if (!g_getenv ("XFERD_SOURCE_ROOT"))
                return g_strdup ("XFERD_SOURCE_ROOT is not set (run the tests with meson test)");
        if (!env_path ("SQUID"))
                return g_strdup ("squid was not found when meson configured the build "
                                 "(scripts/setup-deps.sh installs Debian's squid; then reconfigure)");
        if (options && options->user) {
                if (!env_path ("SQUID_BASIC_NCSA_AUTH"))
                        return g_strdup ("squid's basic_ncsa_auth helper was not found (package squid)");
                g_autofree char *openssl = g_find_program_in_path ("openssl");
                if (!openssl)
                        return g_strdup ("openssl is missing (package openssl)");
        }
        return NULL;
}

/* squid -z and squid -N end up as this user when the test runs as root: squid refuses to
 * run as root. */
static const struct passwd *
squid_user (void)
{
        const struct passwd *pw;

        if (geteuid () != 0)
                return NULL;
        pw = getpwnam ("proxy");
        if (!pw)
                pw = getpwnam ("nobody");
        g_assert_nonnull (pw);
        return pw;
}

static void
chown_tree (const char *path, const struct passwd *pw)
{
        g_autoptr(GDir) dir = NULL;
        const char *name;

        g_assert_no_errno (lchown (path, pw->pw_uid, pw->pw_gid));
        if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
                return;
        dir = g_dir_open (path, 0, NULL);
        while (dir && (name = g_dir_read_name (dir))) {
                g_autofree char *child = g_build_filename (path, name, NULL);
                chown_tree (child, pw);
        }
}

/* An htpasswd line for basic_ncsa_auth: SHA-512 crypt, which it checks with crypt(3). */
static void
write_passwd (const char *path, const char *user, const char *password)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *hash = NULL;
        const char *argv[] = { "openssl", "passwd", "-6", "-stdin", NULL };
        g_autoptr(GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                         G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
        g_assert_no_error (error);
        g_autofree char *input = g_strdup_printf ("%s\n", password);
        g_subprocess_communicate_utf8 (proc, input, NULL, &hash, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (g_subprocess_get_successful (proc));
        g_strchomp (hash);
        g_autofree char *line = g_strdup_printf ("%s:%s\n", user, hash);
        g_file_set_contents (path, line, -1, &error);
        g_assert_no_error (error);
}

static char *
make_config (SquidProxy *s, const SquidOptions *options, const struct passwd *pw)
{
        GString *c = g_string_new (NULL);
        g_autofree char *policy = g_build_filename (g_getenv ("XFERD_SOURCE_ROOT"), "docs", "fleet",
                                                    "squid.conf", NULL);

        g_string_append_printf (c,
                "# written by tests/squid-proxy.c\n"
                "http_port 127.0.0.1:%u\n"
                "visible_hostname xferd-test-squid\n"
                "pid_filename %s/squid.pid\n"
                "cache_log %s\n"
                "access_log stdio:%s squid\n"
                "cache_store_log none\n"
                "coredump_dir %s\n"
                "netdb_filename none\n"
                "icp_port 0\n"
                "htcp_port 0\n"
                "pinger_enable off\n"
                "shutdown_lifetime 1 seconds\n"
                "logfile_rotate 0\n",
                s->port, s->dir, s->cache_log, s->access_log, s->dir);
        if (pw)
                g_string_append_printf (c, "cache_effective_user %s\n", pw->pw_name);
        /* The site configuration as documented, before cache_dir (it sets maximum_object_size). */
        g_string_append_printf (c, "include %s\n", policy);
        g_string_append_printf (c, "cache_dir ufs %s/cache 1024 4 16\n", s->dir);
        if (options && options->user) {
                g_autofree char *passwd = g_build_filename (s->dir, "passwd", NULL);
                write_passwd (passwd, options->user, options->password);
                g_string_append_printf (c,
                        "auth_param basic program %s %s\n"
                        "auth_param basic children 2\n"
                        "auth_param basic realm xferd test proxy\n"
                        "acl authenticated proxy_auth REQUIRED\n"
                        "http_access deny !authenticated\n",
                        env_path ("SQUID_BASIC_NCSA_AUTH"), passwd);
        }
        g_string_append (c,
                "http_access allow localhost\n"
                "http_access deny all\n");
        return g_string_free (c, FALSE);
}

/* squid changes its user, which clears a parent-death signal: a small shell that waits for
 * the end of its stdin (the test process gone) kills it instead. */
static void
start_reaper (SquidProxy *s)
{
        g_autoptr(GError) error = NULL;
        const char *id = g_subprocess_get_identifier (s->proc);
        const char *argv[] = { "/bin/sh", "-c", "while read -r _; do :; done; kill -KILL \"$1\" 2>/dev/null",
                               "squid-reaper", id, NULL };

        s->reaper = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE, &error);
        g_assert_no_error (error);
}

static void
stop_reaper (SquidProxy *s)
{
        if (!s->reaper)
                return;
        /* Before squid ends: a pid the reaper would kill later may belong to another process. */
        peer_stop (&s->reaper, SIGKILL);
}

static GSubprocess *
spawn_squid (SquidProxy *s, gboolean make_dirs)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGKILL);
        const char *argv[] = { s->squid, "-N", "-f", s->conf, make_dirs ? "-z" : NULL, NULL };
        GSubprocess *proc;

        proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
        g_assert_no_error (error);
        return proc;
}

/* squid -z: the cache directory's structure. */
static gboolean
make_cache_dirs (SquidProxy *s)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocess) z = spawn_squid (s, TRUE);

        g_subprocess_wait (z, NULL, &error);
        g_assert_no_error (error);
        return g_subprocess_get_successful (z);
}

/* Runs squid -N and waits until it accepts connections. FALSE when it exited first: the
 * port was taken meanwhile, or the configuration is wrong (see cache.log). */
static gboolean
run_squid (SquidProxy *s)
{
        s->proc = spawn_squid (s, FALSE);
        start_reaper (s);
        if (peer_wait_port (s->proc, s->port, START_TIMEOUT_MS))
                return TRUE;
        stop_reaper (s);
        peer_stop (&s->proc, SIGKILL);
        return FALSE;
}

SquidProxy *
squid_proxy_new (const SquidOptions *options)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *why = why_unavailable (options);
        const struct passwd *pw = squid_user ();

        if (why) {
                peer_unavailable ("squid", why);
                return NULL;
        }

        SquidProxy *s = g_new0 (SquidProxy, 1);
        s->squid = g_strdup (env_path ("SQUID"));
        s->dir = g_dir_make_tmp ("xferd-squid-XXXXXX", &error);
        g_assert_no_error (error);
        /* squid's user must reach it: the temporary directory is made 0700. */
        g_assert_no_errno (g_chmod (s->dir, 0755));
        s->conf = g_build_filename (s->dir, "squid.conf", NULL);
        s->access_log = g_build_filename (s->dir, "access.log", NULL);
        s->cache_log = g_build_filename (s->dir, "cache.log", NULL);

        /* A port is free when we look; another process may take it before squid binds it:
         * then squid exits, and we try another. */
        for (guint attempt = 0; attempt < 5; attempt++) {
                g_autofree char *config = NULL;

                s->port = peer_free_port ();
                config = make_config (s, options, pw);
                g_file_set_contents (s->conf, config, -1, &error);
                g_assert_no_error (error);
                if (pw)
                        chown_tree (s->dir, pw);
                if (attempt == 0 && !make_cache_dirs (s))
                        break;
                if (run_squid (s))
                        break;
        }
        if (!s->proc) {
                g_autofree char *log = squid_proxy_cache_log (s);
                g_test_message ("squid did not start; cache.log:\n%s", log);
                g_test_fail_printf ("squid (%s) did not start on 127.0.0.1:%u", s->squid, s->port);
                squid_proxy_free (s);
                return NULL;
        }
        s->host = g_strdup_printf ("127.0.0.1:%u", s->port);
        s->url = g_strdup_printf ("http://127.0.0.1:%u", s->port);
        g_test_message ("squid on %s (directory %s)", s->host, s->dir);
        return s;
}

/* kill() at once: g_subprocess_send_signal() only queues the signal for GLib's worker
 * thread, and a test that goes on (releasing its origin, say) would race with it. */
static void
send_signal_now (SquidProxy *s, int signo)
{
        const char *id = g_subprocess_get_identifier (s->proc);

        g_assert_nonnull (id);
        g_assert_no_errno (kill ((pid_t) g_ascii_strtoll (id, NULL, 10), signo));
}

/* The state letter of /proc/PID/stat ('T' stopped), or 0. */
static char
process_state (SquidProxy *s)
{
        const char *id = g_subprocess_get_identifier (s->proc);

        return id ? proc_pid_state ((pid_t) g_ascii_strtoll (id, NULL, 10)) : 0;
}

void
squid_proxy_stop (SquidProxy *s, int signo)
{
        g_autoptr(GError) error = NULL;

        g_assert_nonnull (s->proc);
        if (s->frozen && signo != SIGKILL)
                squid_proxy_thaw (s);
        stop_reaper (s);
        send_signal_now (s, signo);
        g_subprocess_wait (s->proc, NULL, &error);
        g_assert_no_error (error);
        g_clear_object (&s->proc);
        s->frozen = FALSE;
}

void
squid_proxy_restart (SquidProxy *s)
{
        g_assert_null (s->proc);
        /* Left behind by a SIGKILL; squid refuses to start while it names a live pid only. */
        g_autofree char *pid = g_build_filename (s->dir, "squid.pid", NULL);
        (void) g_remove (pid);
        if (!run_squid (s)) {
                g_autofree char *log = squid_proxy_cache_log (s);
                g_test_message ("cache.log:\n%s", log);
                g_error ("squid did not start again on %s", s->host);
        }
}

void
squid_proxy_freeze (SquidProxy *s)
{
        gint64 deadline = poll_deadline (10 * 1000);

        g_assert_nonnull (s->proc);
        send_signal_now (s, SIGSTOP);
        s->frozen = TRUE;
        /* Returns once it is stopped: not a byte moves after this. */
        while (process_state (s) != 'T')
                g_assert_true (poll_again (deadline, 1));
}

void
squid_proxy_thaw (SquidProxy *s)
{
        g_assert_nonnull (s->proc);
        send_signal_now (s, SIGCONT);
        s->frozen = FALSE;
}

void
squid_proxy_free (SquidProxy *s)
{
        if (!s)
                return;
        stop_reaper (s);
        peer_stop (&s->proc, SIGKILL);
        /* Its authentication helpers end when squid's pipes to them close. */
        if (g_getenv ("XFERD_KEEP_SQUID"))
                g_test_message ("squid's directory kept: %s", s->dir);
        else
                peer_remove_tree (s->dir);
        g_free (s->squid);
        g_free (s->dir);
        g_free (s->conf);
        g_free (s->access_log);
        g_free (s->cache_log);
        g_free (s->host);
        g_free (s->url);
        g_free (s);
}

guint16
squid_proxy_port (SquidProxy *s)
{
        return s->port;
}

const char *
squid_proxy_host (SquidProxy *s)
{
        return s->host;
}

const char *
squid_proxy_url (SquidProxy *s)
{
        return s->url;
}

static char *
read_or_empty (const char *path)
{
        char *text = NULL;

        if (!g_file_get_contents (path, &text, NULL, NULL))
                return g_strdup ("");
        return text;
}

char *
squid_proxy_access_log (SquidProxy *s)
{
        return read_or_empty (s->access_log);
}

char *
squid_proxy_cache_log (SquidProxy *s)
{
        return read_or_empty (s->cache_log);
}

guint
squid_proxy_count_requests (SquidProxy *s, const char *needle)
{
        g_autofree char *log = squid_proxy_access_log (s);
        g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
        guint n = 0;

        for (guint i = 0; lines[i]; i++)
                if (*lines[i] && strstr (lines[i], needle))
                        n++;
        return n;
}

gboolean
squid_proxy_wait_requests (SquidProxy *s, const char *needle, guint n, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        /* squid announces nothing: poll its log, as wait_file_size() polls a file. */
        while (squid_proxy_count_requests (s, needle) < n)
                if (!poll_again (deadline, 10))
                        return FALSE;
        return TRUE;
}
