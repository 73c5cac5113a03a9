/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The apt tests' environment and checks: see apt-checks.h. */
#include <string.h>

#include "apt-checks.h"
#include "http-server.h"

AptRepo *apt_test_repo;

AptEnv *
apt_env_new (const char *sources, const char *extra_conf)
{
        BusFixtureOptions options = { .system_bus = TRUE };
        AptEnv *env = g_new0 (AptEnv, 1);

        env->fx = bus_fixture_new (&options);
        env->apt = apt_root_new (env->fx, apt_test_repo, sources, extra_conf);
        return env;
}

void
apt_env_free (AptEnv *env)
{
        apt_root_free (env->apt);
        bus_fixture_free (env->fx);
        g_free (env);
}

gboolean
apt_test_available (void)
{
        const char *missing = apt_repo_missing ();

        if (!missing && !apt_test_repo)
                missing = "the test repository (it could not be built)";
        return test_needs (missing);
}

/* ---------------------------------------------------------------- checks */

/* Where the signals of what comes next start: everything xferd sent so far (it sent it before
 * it answered the method, which answered apt before apt exited) is recorded first, by a round
 * trip to the bus and a drained context. */
guint
apt_signals_mark (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) id = bus_driver_call (fx, "GetId", NULL, NULL, &error);

        g_assert_no_error (error);
        while (g_main_context_iteration (fx->ctx, FALSE))
                ;
        return fx->signals->len;
}

/* apt-get update in the root, asserted to succeed without errors or warnings. */
char *
apt_update_ok (AptEnv *env)
{
        g_autofree char *out = NULL;

        g_assert_cmpint (apt_root_run (env->apt, &out, "update", NULL), ==, 0);
        g_assert_null (strstr (out, "\nE: "));
        g_assert_null (strstr (out, "\nW: "));
        return g_steal_pointer (&out);
}

void
apt_assert_no_jobs (BusFixture *fx)
{
        g_autoptr(GVariant) jobs = xferd_list_all_jobs (fx);

        g_assert_cmpuint (g_variant_n_children (jobs), ==, 0);
}

/* The job ids of the JobNew signals from index `from` on. */
GPtrArray *
apt_jobs_since (BusFixture *fx, guint from)
{
        GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
        const RecordedSignal *sig;

        apt_signals_mark (fx);
        while ((sig = bus_wait_signal (fx, &from, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew",
                                       NULL, NULL, 0))) {
                const char *id;
                g_variant_get (sig->params, "(&s&o)", &id, NULL);
                g_ptr_array_add (ids, g_strdup (id));
        }
        return ids;
}

char *
apt_job_path (const char *id)
{
        return g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
}

/* Every job the method made is _apt's (it gave up root before it called xferd) and over. */
void
apt_assert_jobs_of_apt (BusFixture *fx, guint from, guint at_least)
{
        g_autoptr(GPtrArray) ids = apt_jobs_since (fx, from);

        g_assert_cmpuint (ids->len, >=, at_least);
        for (guint i = 0; i < ids->len; i++) {
                g_autofree char *path = apt_job_path (ids->pdata[i]);
                g_autofree char *state = job_get_string (fx, path, "State");
                g_assert_cmpuint (job_get_uint32 (fx, path, "Owner"), ==, apt_user_uid ());
                g_assert_true (strcmp (state, "acknowledged") == 0 || strcmp (state, "cancelled") == 0);
        }
        apt_assert_no_jobs (fx);
}

void
apt_assert_file_bytes (const char *path, GBytes *expected)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *data = NULL;
        gsize len;

        g_file_get_contents (path, &data, &len, &error);
        g_assert_no_error (error);
        g_assert_cmpmem (data, len, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

void
apt_assert_deb_in (const char *dir, const char *package)
{
        g_autofree char *pool = apt_repo_deb_path (package);
        g_autofree char *path = g_build_filename (dir, strrchr (pool, '/') + 1, NULL);
        g_autoptr(GBytes) expected = apt_repo_deb (apt_test_repo, package);

        apt_assert_file_bytes (path, expected);
}

/* No hidden temporary file of xferd's (nor anything else but `allowed`) in dir. */
void
apt_assert_dir_holds_only (const char *dir, const char *const *allowed)
{
        g_auto(GStrv) names = list_dir (dir);

        for (guint i = 0; names[i]; i++)
                if (!allowed || !g_strv_contains (allowed, names[i])) {
                        g_autofree char *all = dir_listing (dir);
                        g_test_message ("%s holds: %s", dir, all);
                        g_assert_cmpstr (names[i], ==, "(nothing more)");
                }
}

char *
apt_lists_file (const char *lists, const char *suite, const char *name)
{
        return g_strdup_printf ("%s/127.0.0.1:%u_dists_%s_%s", lists, http_server_get_port (apt_test_repo->http), suite,
                                name);
}

