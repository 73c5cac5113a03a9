/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "xferd-env.h"

typedef struct {
        GDestroyNotify func;
        gpointer data;
} Deferred;

static XferdEnv *
env_new (BusFixture *fx, XferdLog *log)
{
        XferdEnv *env = g_new0 (XferdEnv, 1);

        env->fx = fx;
        env->log = log;
        env->http = http_server_new ();
        env->dir = bus_fixture_mkdir (env->fx, "dl");
        env->dest = g_build_filename (env->dir, "file.bin", NULL);
        env->deferred = g_ptr_array_new_with_free_func (g_free);
        return env;
}

XferdEnv *
xferd_env_new (const BusFixtureOptions *options)
{
        return env_new (bus_fixture_new (options), NULL);
}

XferdEnv *
xferd_env_new_logged (const BusFixtureOptions *options)
{
        XferdLog *log = NULL;
        BusFixture *fx = bus_fixture_new_logged (options, &log);

        return env_new (fx, log);
}

XferdEnv *
xferd_env_new_serving (const BusFixtureOptions *options, const char *path, gsize size)
{
        XferdEnv *env = xferd_env_new (options);

        xferd_env_serve (env, path, size);
        return env;
}

void
xferd_env_serve (XferdEnv *env, const char *path, gsize size)
{
        g_assert_nonnull (env);
        g_assert_null (env->url);
        env->content = http_server_add_generated (env->http, path, size);
        env->path = g_strdup (path);
        env->url = http_server_url (env->http, path);
}

GBytes *
xferd_env_serve_file (XferdEnv *env, const char *name, gsize size, char **url, char **dest)
{
        g_autofree char *path = g_strconcat ("/", name, NULL);

        g_assert_nonnull (env);
        if (url)
                *url = http_server_url (env->http, path);
        if (dest)
                *dest = xferd_env_path (env, name);
        return http_server_add_generated (env->http, path, size);
}

void
xferd_env_add_users (XferdEnv *env)
{
        g_assert_nonnull (env);
        g_assert_null (env->a);
        g_assert_no_errno (chmod (env->dir, 01777));
        env->a = bus_client_new (env->fx, "xferd-test-a");
        env->b = bus_client_new (env->fx, "xferd-test-b");
}

char *
xferd_env_download_stalled (XferdEnv *env, goffset stall, char **temp, char **id)
{
        g_assert_nonnull (env);
        g_assert_nonnull (env->url);
        http_server_stall_after (env->http, env->path, stall);
        char *job = xferd_download (env->fx, env->url, env->dest, FALSE, id);
        g_autofree char *held = xferd_wait_temp (env->fx, job, 0, stall);

        if (temp)
                *temp = g_steal_pointer (&held);
        return job;
}

char *
xferd_env_path (XferdEnv *env, const char *name)
{
        g_assert_nonnull (env);
        return g_build_filename (env->dir, name, NULL);
}

void
xferd_env_defer (XferdEnv *env, GDestroyNotify func, gpointer data)
{
        Deferred *d = g_new (Deferred, 1);

        g_assert_nonnull (env);
        d->func = func;
        d->data = data;
        g_ptr_array_add (env->deferred, d);
}

static void
unmount_path (gpointer path)
{
        (void) umount2 (path, MNT_DETACH);
        g_free (path);
}

void
xferd_env_defer_unmount (XferdEnv *env, const char *path)
{
        g_assert_nonnull (path);
        xferd_env_defer (env, unmount_path, g_strdup (path));
}

int
xferd_env_mount_tmpfs (XferdEnv *env, const char *path, unsigned long flags, const char *data)
{
        g_assert_nonnull (env);
        g_assert_nonnull (path);
        if (mount ("tmpfs", path, "tmpfs", flags, data) < 0)
                return -errno;
        xferd_env_defer_unmount (env, path);
        return 0;
}

void
xferd_env_free (XferdEnv *env)
{
        if (!env)
                return;
        for (guint i = env->deferred->len; i > 0; i--) {
                Deferred *d = g_ptr_array_index (env->deferred, i - 1);
                d->func (d->data);
        }
        g_ptr_array_unref (env->deferred);
        g_clear_pointer (&env->a, bus_client_free);
        g_clear_pointer (&env->b, bus_client_free);
        http_server_free (env->http);
        bus_fixture_free (env->fx);
        /* After the fixture: its dbus-daemon and every xferd are gone, so the
         * log is complete. */
        if (env->log)
                xferd_log_free (env->log);
        g_clear_pointer (&env->content, g_bytes_unref);
        g_free (env->dir);
        g_free (env->dest);
        g_free (env->path);
        g_free (env->url);
        g_free (env);
}

/* The make() of this program's environment cases (xferd_env_add_cases()). */
static XferdEnvMake env_case_make;

static void
run_env_case (gconstpointer data)
{
        const XferdEnvCase *c = data;
        g_autoptr(XferdEnv) env = env_case_make (c->setup);

        if (env)
                c->func (env);
}

void
xferd_env_add_cases (const XferdEnvCases *cases)
{
        g_assert_nonnull (cases->make);
        g_assert_nonnull (cases->cases);
        g_assert_null (env_case_make);  /* one make a program */
        env_case_make = cases->make;
        for (const XferdEnvCase *c = cases->cases; c->path; c++)
                g_test_add_data_func (c->path, c, run_env_case);
}
