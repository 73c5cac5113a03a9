/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CancelWhenOwnerGone: a job bound to a D-Bus connection is cancelled, with Cancel's
 * guarantees, when that connection leaves the bus, here because its process is killed. The
 * clients are xferd-test-client processes (bus_client_new), on a bus configured like the
 * system bus; needs root (skips without it unless CI=true).
 */
#include <unistd.h>

#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (512 * 1024)
#define STALL (64 * 1024)
#define OPTION "cancel-when-owner-gone"
#define PROPERTY "CancelWhenOwnerGone"

/* The XferdEnvMake of every case: a bus configured like the system bus (root only; NULL, the
 * case skipped, without), serving SIZE bytes at /file.bin. */
static XferdEnv *
owner_gone_env_make (gconstpointer setup)
{
        BusFixtureOptions options = { .system_bus = TRUE };

        if (!test_needs (geteuid () == 0 ? NULL : "root (a bus configured like the system bus)"))
                return NULL;
        XferdEnv *env = xferd_env_new_serving (&options, "/file.bin", SIZE);

        /* Every transfer holds still in the middle, its temporary file on disk. */
        http_server_stall_after (env->http, "/file.bin", STALL);
        return env;
}

/* A Download by the client, with the option when `bound`; waits until its temporary file
 * holds the first bytes. Returns the job's path. */
static char *
client_download (XferdEnv *env, BusClient *client, gboolean bound, char **id)
{
        GVariantBuilder options;
        char *path;

        g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
        if (bound)
                g_variant_builder_add (&options, "{sv}", OPTION, g_variant_new_boolean (TRUE));
        path = bus_client_make_job (client, "Download", g_variant_new ("(ssa{sv})", env->url, env->dest, &options), id);
        job_wait_state (env->fx, path, "transferring");
        g_autofree char *temp = xferd_wait_temp (env->fx, path, 0, STALL);
        return path;
}

static void
kill_client (XferdEnv *env, BusClient *client)
{
        g_autofree char *name = g_strdup (bus_client_unique_name (client));
        guint from = 0;

        bus_client_kill (client);
        /* Until xferd has handled the departure: the bus sends NameOwnerChanged to xferd
         * before it reads a call we make after seeing the same signal ourselves. */
        g_assert_true (bus_wait_name_lost (env->fx, &from, name, WAIT_TIMEOUT_MS));
        /* A call after it: answered after xferd has acted on the signal. */
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) version = bus_get_property (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                        "Version", &error);
        g_assert_no_error (error);
}

static void
assert_cancelled_and_gone (XferdEnv *env, const char *job, const char *id)
{
        assert_job_removed (env->fx, id, "cancelled");
        assert_job_string (env->fx, job, "State", "cancelled");
        assert_dir_empty (env->dir);
        g_assert_false (xferd_lists_job (env->fx, id));
}

/* The client that made the job is killed in the middle of the transfer. */
static void
test_killed_client (XferdEnv *env)
{
        g_autoptr(BusClient) client = bus_client_new (env->fx, NULL);
        g_autofree char *id = NULL;
        g_autofree char *job = client_download (env, client, TRUE, &id);

        g_assert_true (job_get_boolean (env->fx, job, PROPERTY));
        kill_client (env, client);
        assert_cancelled_and_gone (env, job, id);
        /* Cancel's rule afterwards: the job is final. */
        g_autoptr(GError) error = NULL;
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, PROPERTY, g_variant_new_boolean (FALSE),
                                          &error));
        bus_assert_error (error, XFERD_ERROR ("InvalidState"));
}

/* A client that leaves right after the call that bound the job: busctl. The bus hands xferd
 * the call before the news that its caller left, so the job is created, then cancelled. */
static void
test_client_leaves_at_once (XferdEnv *env)
{
        g_autofree char *address = g_strdup_printf ("--address=%s", env->fx->address);
        const char *const argv[] = { "busctl", address, "call", XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                     XFERD_MANAGER_IFACE, "Download", "ssa{sv}", env->url, env->dest,
                                     "1", OPTION, "b", "true", NULL };
        g_autofree char *out = NULL;

        g_assert_cmpint (bus_fixture_run (env->fx, argv, &out, NULL), ==, 0);
        /* so "<id>" "<path>" */
        g_auto(GStrv) words = g_strsplit (out, "\"", -1);
        g_assert_cmpuint (g_strv_length (words), >=, 4);
        g_autofree char *job = g_strdup (words[3]);
        assert_cancelled_and_gone (env, job, words[1]);
}

/* Without the option, a client that goes leaves its job to run on; CreateJob takes the option
 * too. */
static void
test_unbound_job_stays (XferdEnv *env)
{
        g_autoptr(BusClient) client = bus_client_new (env->fx, NULL);
        g_autofree char *id = NULL, *created_id = NULL;
        g_autofree char *job = client_download (env, client, FALSE, &id);

        g_assert_false (job_get_boolean (env->fx, job, PROPERTY));
        g_free (bus_client_make_job (client, "CreateJob",
                                     g_variant_new_parsed ("('later', {'cancel-when-owner-gone': <true>})"),
                                     &created_id));

        kill_client (env, client);
        /* The bound empty job is gone, the unbound download goes on. */
        assert_job_removed (env->fx, created_id, "cancelled");
        g_assert_true (xferd_lists_job (env->fx, id));
        assert_job_string (env->fx, job, "State", "transferring");

        http_server_release (env->http, "/file.bin");
        job_wait_state (env->fx, job, "acknowledged");
        assert_dest_complete (env);
}

/* The property binds to the connection that writes it, and false unbinds. */
static void
test_property (XferdEnv *env)
{
        g_autoptr(BusClient) a = bus_client_new (env->fx, NULL);
        g_autoptr(BusClient) b = bus_client_new (env->fx, NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;
        g_autofree char *job = client_download (env, a, TRUE, &id);

        /* A unbinds it, B binds it to itself: A's end no longer matters, B's does. */
        g_assert_true (bus_client_set_property (a, job, XFERD_JOB_IFACE, PROPERTY, g_variant_new_boolean (FALSE),
                                                &error));
        g_assert_no_error (error);
        g_assert_false (job_get_boolean (env->fx, job, PROPERTY));
        g_assert_true (bus_client_set_property (b, job, XFERD_JOB_IFACE, PROPERTY, g_variant_new_boolean (TRUE),
                                                &error));
        g_assert_no_error (error);
        g_assert_true (job_get_boolean (env->fx, job, PROPERTY));

        kill_client (env, a);
        g_assert_true (xferd_lists_job (env->fx, id));
        kill_client (env, b);
        assert_cancelled_and_gone (env, job, id);

        /* A wrong type is refused. */
        g_autoptr(GError) wrong = NULL;
        g_autofree char *other = xferd_create_job (env->fx, "other", NULL);
        g_assert_false (bus_set_property (env->fx, other, XFERD_JOB_IFACE, PROPERTY, g_variant_new_string ("yes"),
                                          &wrong));
        g_assert_nonnull (wrong);
        g_autoptr(GError) bad_option = NULL;
        g_autoptr(GVariant) none = bus_call_manager (env->fx, "CreateJob",
                                                     g_variant_new_parsed ("('x', {'cancel-when-owner-gone': <'yes'>})"),
                                                     G_VARIANT_TYPE ("(so)"), &bad_option);
        bus_assert_error (bad_option, DBUS_ERROR_INVALID_ARGS);
}

/* The binding is stored: a client that dies while xferd is down loses its job when xferd comes
 * back; a client that lives on keeps its job. */
static void
test_restart (XferdEnv *env)
{
        g_autoptr(BusClient) alive = bus_client_new (env->fx, NULL);
        g_autoptr(BusClient) dying = bus_client_new (env->fx, NULL);
        g_autofree char *alive_id = NULL, *dying_id = NULL;
        g_autofree char *dest2 = xferd_env_path (env, "second.bin");

        /* The older job first: xferd checks the stored bindings in queue order. */
        g_autofree char *alive_job = client_download (env, alive, TRUE, &alive_id);
        g_autofree char *dying_job = bus_client_make_job (
                dying, "Download", g_variant_new_parsed ("(%s, %s, {'cancel-when-owner-gone': <true>})", env->url, dest2),
                &dying_id);
        job_wait_state (env->fx, dying_job, "transferring");

        xferd_process_kill (env->fx);
        bus_client_kill (dying);
        xferd_process_start (env->fx);

        assert_job_removed (env->fx, dying_id, "cancelled");
        g_assert_false (g_file_test (dest2, G_FILE_TEST_EXISTS));
        g_assert_true (xferd_lists_job (env->fx, alive_id));
        g_assert_true (job_get_boolean (env->fx, alive_job, PROPERTY));

        /* Still bound to the live client after the restart. */
        kill_client (env, alive);
        assert_cancelled_and_gone (env, alive_job, alive_id);
}

static const XferdEnvCase env_cases[] = {
        { "/owner-gone/killed-client", test_killed_client, NULL },
        { "/owner-gone/client-leaves-at-once", test_client_leaves_at_once, NULL },
        { "/owner-gone/unbound-job-stays", test_unbound_job_stays, NULL },
        { "/owner-gone/property", test_property, NULL },
        { "/owner-gone/restart", test_restart, NULL },
        { NULL, NULL, NULL }
};

const XferdEnvCases test_env_cases = { owner_gone_env_make, env_cases };
