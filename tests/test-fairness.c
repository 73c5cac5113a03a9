/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One user cannot starve another (issue 18): xferd runs as root on a bus
 * configured like the system bus; users A (xferd-test-a) and B (xferd-test-b)
 * act through connections of their own, against a server that sends some
 * resources at a trickle of 2 bytes a second.
 *
 *  - The throughput rule: a few bytes a minute are no progress. A trickling
 *    attempt ends like a stalled one (Timeout, after StallTimeoutSec), and a
 *    job that never does better fails with NoProgress after NoProgressTimeout.
 *
 * Needs root and the test users; skips without them unless CI=true.
 */
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bus-fixture.h"
#include "http-server.h"

#define USER_A "xferd-test-a"
#define USER_B "xferd-test-b"
#define TRICKLE 2               /* bytes a second */

typedef struct {
        BusFixture *fx;
        HttpServer *http;
        BusClient *a, *b;
        char *dir;              /* 0777: both users download here */
} Env;

static gboolean
needs_met (void)
{
        const char *missing = NULL;

        if (geteuid () != 0)
                missing = "root";
        else if (!getpwnam (USER_A) || !getpwnam (USER_B))
                missing = "the users " USER_A " and " USER_B " (scripts/test.sh makes them)";
        if (!missing)
                return TRUE;
        if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
                g_test_fail_printf ("this test needs %s", missing);
        else
                g_test_skip_printf ("this test needs %s", missing);
        return FALSE;
}

static Env *
env_new (const char *config, const char *const *args)
{
        BusFixtureOptions options = { .system_bus = TRUE, .config = config, .extra_args = args };
        Env *env = g_new0 (Env, 1);

        env->fx = bus_fixture_new (&options);
        env->http = http_server_new ();
        env->dir = bus_fixture_mkdir (env->fx, "dl");
        g_assert_no_errno (chmod (env->dir, 01777));
        env->a = bus_client_new (env->fx, USER_A);
        env->b = bus_client_new (env->fx, USER_B);
        return env;
}

static void
env_free (Env *env)
{
        if (!env)
                return;
        bus_client_free (env->a);
        bus_client_free (env->b);
        http_server_free (env->http);
        bus_fixture_free (env->fx);
        g_free (env->dir);
        g_free (env);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

/* A resource of size bytes, sent at rate bytes a second (0: at full speed). */
static char *
serve (Env *env, const char *path, gsize size, guint64 rate)
{
        g_autoptr(GBytes) content = http_server_add_generated (env->http, path, size);

        http_server_set_rate (env->http, path, rate);
        return http_server_url (env->http, path);
}

static void
client_set (BusClient *client, const char *job, const char *name, GVariant *value)
{
        g_autoptr(GError) error = NULL;

        g_assert_true (bus_client_set_property (client, job, XFERD_JOB_IFACE, name, value, &error));
        g_assert_no_error (error);
}

/* client's job of `priority` for url, into a file of its own; resumed. */
static char *
start (Env *env, BusClient *client, const char *priority, const char *url, const char *name)
{
        g_autofree char *dest = g_build_filename (env->dir, name, NULL);
        g_autofree char *job = bus_client_create_job (client, name, NULL);

        client_set (client, job, "Priority", g_variant_new_string (priority));
        client_set (client, job, "MinimumRetryDelay", g_variant_new_uint32 (1));
        bus_client_add_file (client, job, url, dest);
        bus_client_job_call (client, job, "Resume");
        return g_steal_pointer (&job);
}

/* ------------------------------------------------------- throughput rule */

/* 2 bytes a second keep a connection open but are no progress: with StallTimeoutSec=2 the
 * attempt ends with a transient Timeout that names the speed, and with NoProgressTimeout=4
 * the job fails with NoProgress although bytes keep arriving. A job at full speed on the
 * same server is untouched. */
static void
test_throughput_rule (void)
{
        if (!needs_met ())
                return;
        static const char *const args[] = { "--stall-timeout=2", NULL };
        g_autoptr(Env) env = env_new (NULL, args);
        g_autofree char *slow_url = serve (env, "/slow.bin", 64 * 1024, TRICKLE);
        g_autofree char *fast_url = serve (env, "/fast.bin", 256 * 1024, 0);

        g_autofree char *slow = start (env, env->a, "high", slow_url, "slow.bin");
        g_autofree char *state = job_wait_state_get (env->fx, slow, "transient-error");
        g_assert_cmpstr (state, ==, "transient-error");
        g_autofree char *name = job_get_string (env->fx, slow, "ErrorName");
        g_autofree char *message = job_get_string (env->fx, slow, "ErrorMessage");
        g_test_message ("%s: %s", name, message);
        g_assert_true (g_str_has_suffix (name, "Timeout"));
        g_assert_cmpuint (job_get_uint64 (env->fx, slow, "BytesTransferred"), >, 0);

        client_set (env->a, slow, "NoProgressTimeout", g_variant_new_uint32 (4));
        job_wait_state (env->fx, slow, "error");
        g_autofree char *final_name = job_get_string (env->fx, slow, "ErrorName");
        g_assert_true (g_str_has_suffix (final_name, "NoProgress"));

        g_autofree char *fast = start (env, env->b, "normal", fast_url, "fast.bin");
        job_wait_state (env->fx, fast, "transferred");
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/fairness/throughput-rule", test_throughput_rule);
        return g_test_run ();
}
