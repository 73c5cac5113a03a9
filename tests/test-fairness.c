/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One user cannot starve another (issue 18): xferd runs as root on a bus
 * configured like the system bus; users A (xferd-test-a) and B (xferd-test-b)
 * act through connections of their own, against a server that sends some
 * resources at a trickle of 2 bytes a second.
 *
 *  - Fair shares before priorities: four `high` jobs of A fill the four
 *    transfer slots at a trickle; B's `normal` job still starts at once (one of
 *    A's yields its slot) and finishes.
 *  - A cap on one user's foreground transfers: beyond
 *    MaxForegroundTransfersPerUser, A's foreground jobs wait.
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

#include "test-cases.h"
#include "xferd-env.h"

#define TRICKLE 2               /* bytes a second */

/* The resources of every case: 64 KiB at a trickle, 256 KiB at full speed. */
#define SLOW "/slow.bin"
#define FAST "/fast.bin"

/* A resource of size bytes, sent at rate bytes a second (0: at full speed). */
static void
serve (XferdEnv *env, const char *path, gsize size, guint64 rate)
{
        g_autoptr(GBytes) content = http_server_add_generated (env->http, path, size);

        http_server_set_rate (env->http, path, rate);
}

/* The XferdEnvMake of every case: xferd on a system-type bus (setup: the rest of the options)
 * with users A and B, and SLOW and FAST on the server; NULL, having skipped the test (failed
 * it under CI), without root and the test users. */
static XferdEnv *
fairness_env_make (gconstpointer setup)
{
        BusFixtureOptions options = *(const BusFixtureOptions *) setup;

        options.system_bus = TRUE;
        if (!test_needs_root_and_users ())
                return NULL;
        XferdEnv *env = xferd_env_new (&options);
        xferd_env_add_users (env);
        serve (env, SLOW, 64 * 1024, TRICKLE);
        serve (env, FAST, 256 * 1024, 0);
        return env;
}

static void
client_set (BusClient *client, const char *job, const char *name, GVariant *value)
{
        g_autoptr(GError) error = NULL;

        g_assert_true (bus_client_set_property (client, job, XFERD_JOB_IFACE, name, value, &error));
        g_assert_no_error (error);
}

/* client's job of `priority` for the resource at path, into a file of its own; resumed. */
static char *
start (XferdEnv *env, BusClient *client, const char *priority, const char *path, const char *name)
{
        g_autofree char *url = http_server_url (env->http, path);
        g_autofree char *dest = g_build_filename (env->dir, name, NULL);
        g_autofree char *job = bus_client_create_job (client, name, NULL);

        client_set (client, job, "Priority", g_variant_new_string (priority));
        client_set (client, job, "MinimumRetryDelay", g_variant_new_uint32 (1));
        bus_client_add_file (client, job, url, dest);
        bus_client_job_call (client, job, "Resume");
        return g_steal_pointer (&job);
}

/* n jobs of A's of `priority` for SLOW, started one after another (a0.bin, a1.bin, ...). */
static GStrv
start_a_jobs (XferdEnv *env, const char *priority, guint n)
{
        GStrv jobs = g_new0 (char *, n + 1);

        for (guint i = 0; i < n; i++) {
                g_autofree char *name = g_strdup_printf ("a%u.bin", i);
                jobs[i] = start (env, env->a, priority, SLOW, name);
        }
        return jobs;
}

static gboolean
is_active (const char *state)
{
        return g_strcmp0 (state, "connecting") == 0 || g_strcmp0 (state, "transferring") == 0;
}

/* Waits until job is connecting or transferring. */
static void
wait_active (XferdEnv *env, const char *job)
{
        gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_MS * 1000;

        for (;;) {
                g_autofree char *state = job_get_string (env->fx, job, "State");
                if (is_active (state))
                        return;
                if (g_get_monotonic_time () > deadline)
                        g_error ("%s stayed %s", job, state);
                /* PropertiesChanged wakes the wait; a state change always sends one. */
                bus_wait_property (env->fx, job, XFERD_JOB_IFACE, "State", g_variant_new_string ("transferring"), 500);
        }
}

static guint
count_active (XferdEnv *env, char **jobs, guint n)
{
        guint active = 0;

        for (guint i = 0; i < n; i++) {
                g_autofree char *state = job_get_string (env->fx, jobs[i], "State");
                active += is_active (state);
        }
        return active;
}

/* ------------------------------------------------------- fair shares */

/* A fills every background slot with `high` jobs at a trickle; B's `normal` job takes a
 * slot at once from one of them (A holds more than its share), finishes, and gives the slot
 * back. */
static void
test_fair_share (XferdEnv *env)
{
        g_auto(GStrv) a_jobs = start_a_jobs (env, "high", 4);
        for (guint i = 0; a_jobs[i]; i++)
                wait_active (env, a_jobs[i]);

        g_autofree char *b_job = start (env, env->b, "normal", FAST, "b.bin");
        job_wait_state (env->fx, b_job, "transferred");
        bus_client_job_call (env->b, b_job, "Cancel");

        /* One of A's yielded and kept its bytes; with B gone it has its slot back. */
        guint yielded = 0;
        for (guint i = 0; a_jobs[i]; i++) {
                g_autoptr(GPtrArray) history = job_state_history (env->fx, a_jobs[i]);
                for (guint k = 1; k < history->len; k++)
                        if (g_strcmp0 (g_ptr_array_index (history, k), "queued") == 0 &&
                            is_active (g_ptr_array_index (history, k - 1)))
                                yielded++;
        }
        g_assert_cmpuint (yielded, ==, 1);
        for (guint i = 0; a_jobs[i]; i++)
                wait_active (env, a_jobs[i]);
        for (guint i = 0; a_jobs[i]; i++)
                bus_client_job_call (env->a, a_jobs[i], "Cancel");
}

/* ------------------------------------------------------- foreground cap */

/* MaxForegroundTransfersPerUser=2: A's third foreground job waits while two run, also after
 * B's foreground job (started later) has run and finished; it starts when one of A's ends. */
static void
test_foreground_cap (XferdEnv *env)
{
        g_auto(GStrv) a_jobs = start_a_jobs (env, "foreground", 3);
        wait_active (env, a_jobs[0]);
        wait_active (env, a_jobs[1]);
        /* B's later job has been through the scheduler, so A's third has too. */
        g_autofree char *b_job = start (env, env->b, "foreground", FAST, "b.bin");
        job_wait_state (env->fx, b_job, "transferred");
        assert_job_string (env->fx, a_jobs[2], "State", "queued");
        assert_job_string (env->fx, a_jobs[2], "WaitReason", "max-transfers");
        g_assert_cmpuint (count_active (env, a_jobs, 3), ==, 2);

        bus_client_job_call (env->a, a_jobs[0], "Cancel");
        wait_active (env, a_jobs[2]);
        bus_client_job_call (env->a, a_jobs[1], "Cancel");
        bus_client_job_call (env->a, a_jobs[2], "Cancel");
}

/* ------------------------------------------------------- throughput rule */

/* 2 bytes a second keep a connection open but are no progress: with StallTimeoutSec=2 the
 * attempt ends with a transient Timeout that names the speed, and with NoProgressTimeout=4
 * the job fails with NoProgress although bytes keep arriving. A job at full speed on the
 * same server is untouched. */
static void
test_throughput_rule (XferdEnv *env)
{
        g_autofree char *slow = start (env, env->a, "high", SLOW, "slow.bin");
        g_autofree char *state = job_wait_state_get (env->fx, slow, "transient-error");
        g_assert_cmpstr (state, ==, "transient-error");
        job_assert_error (env->fx, slow, "Timeout", NULL);
        g_assert_cmpuint (job_get_uint64 (env->fx, slow, "BytesTransferred"), >, 0);

        client_set (env->a, slow, "NoProgressTimeout", g_variant_new_uint32 (4));
        job_wait_state (env->fx, slow, "error");
        job_assert_error (env->fx, slow, "NoProgress", NULL);

        g_autofree char *fast = start (env, env->b, "normal", FAST, "fast.bin");
        job_wait_state (env->fx, fast, "transferred");
}

static const BusFixtureOptions four_background = { .config = "[Daemon]\nMaxBackgroundTransfers=4\n" };
static const BusFixtureOptions two_foreground = { .config = "[Daemon]\nMaxForegroundTransfersPerUser=2\n" };
static const BusFixtureOptions stall_timeout_2s = {
        .extra_args = (const char *const[]) { "--stall-timeout=2", NULL },
};

static const XferdEnvCase env_cases[] = {
        { "/fairness/fair-share", test_fair_share, &four_background },
        { "/fairness/foreground-cap", test_foreground_cap, &two_foreground },
        { "/fairness/throughput-rule", test_throughput_rule, &stall_timeout_2s },
        { NULL, NULL, NULL }
};

const XferdEnvCases test_env_cases = { fairness_env_make, env_cases };
