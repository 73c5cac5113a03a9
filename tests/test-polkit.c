/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Administrators through polkit on the system bus: an unprivileged user whom
 * polkit allows org.xferd.Transfer1.manage-all acts on other users' jobs and
 * lists them; org.xferd.Transfer1.configure changes the Manager's settings.
 * Without polkit, or when polkit says no, only root may. polkit is
 * python3-dbusmock's polkitd template on the test's system-type bus, and a
 * polkit that does not answer yet blocks nobody else.
 *
 * Needs root, the users xferd-test-a / xferd-test-b (scripts/test.sh makes
 * them) and python3-dbusmock (scripts/setup-deps.sh); skips without them
 * unless CI=true.
 */
#include <pwd.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "bus-flood.h"
#include "dbus-mock.h"
#include "poll-wait.h"
#include "test-cases.h"
#include "xferd-process.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define ACTION_MANAGE_ALL "org.xferd.Transfer1.manage-all"
#define ACTION_CONFIGURE "org.xferd.Transfer1.configure"

/* As polkit's own policy file: root owns the name, anyone may ask it. */
static const char polkit_policy[] =
        "  <policy user=\"root\">\n"
        "    <allow own=\"" POLKIT_NAME "\"/>\n"
        "    <allow send_destination=\"" POLKIT_NAME "\"/>\n"
        "  </policy>\n"
        "  <policy context=\"default\">\n"
        "    <allow send_destination=\"" POLKIT_NAME "\"\n"
        "           send_interface=\"org.freedesktop.PolicyKit1.Authority\"/>\n"
        "  </policy>\n";

typedef struct {
        BusFixture *fx;
        GSubprocess *polkitd;   /* NULL: no polkit on the bus */
        BusClient *a;
        BusClient *b;
        char *job_b;            /* a job of xferd-test-b */
} Env;

static gboolean
can_run (void)
{
        g_autofree char *missing = NULL;
        gboolean ok = geteuid () == 0 && getpwnam ("xferd-test-a") && getpwnam ("xferd-test-b") &&
                      !(missing = dbus_mock_why_missing ("dbusmock"));

        return test_needs (ok ? NULL : "root, the users xferd-test-a and xferd-test-b and python3-dbusmock "
                           "(scripts/test.sh and scripts/setup-deps.sh provide them)");
}

static GVariant *
polkit_mock_call (Env *env, const char *method, GVariant *params)
{
        return dbus_mock_call (env->fx, POLKIT_NAME, POLKIT_PATH, method, params, NULL);
}

static void
polkit_allow (Env *env, const char *const *actions)
{
        g_autoptr(GVariant) r = polkit_mock_call (env, "SetAllowed",
                                                  g_variant_new ("(^as)", (char **) actions));
}

static void
polkit_start (Env *env)
{
        env->polkitd = dbus_mock_start (env->fx, "polkitd", POLKIT_NAME);
}

static void
env_free (Env *env)
{
        g_clear_pointer (&env->a, bus_client_free);
        g_clear_pointer (&env->b, bus_client_free);
        if (env->polkitd) {
                g_subprocess_force_exit (env->polkitd);
                g_subprocess_wait (env->polkitd, NULL, NULL);
                g_clear_object (&env->polkitd);
        }
        g_clear_pointer (&env->fx, bus_fixture_free);
        g_free (env->job_b);
        g_free (env);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

/* idle_timeout: xferd's --idle-timeout, 0 for none. */
static Env *
env_new_idle (gboolean with_polkit, guint idle_timeout)
{
        BusFixtureOptions options = { .system_bus = TRUE, .extra_bus_policy = polkit_policy,
                                      .idle_timeout = idle_timeout };
        Env *env;

        if (!can_run ())
                return NULL;
        env = g_new0 (Env, 1);
        env->fx = bus_fixture_new (&options);
        if (with_polkit)
                polkit_start (env);
        xferd_process_start (env->fx);
        env->a = bus_client_new (env->fx, "xferd-test-a");
        env->b = bus_client_new (env->fx, "xferd-test-b");
        env->job_b = bus_client_create_job (env->b, "b's job", NULL);
        return env;
}

static Env *
env_new (gboolean with_polkit)
{
        return env_new_idle (with_polkit, 0);
}

static void
assert_denied (GVariant *reply, GError *error, const char *needle)
{
        g_assert_null (reply);
        bus_assert_error (error, "org.freedesktop.DBus.Error.AccessDenied");
        g_assert_nonnull (strstr (error->message, needle));
}

/* Whether the object manager shows a b's job. */
static gboolean
object_manager_shows_a_job_b (Env *env)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_client_call_to (env->a, XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                                        NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);

        g_assert_no_error (error);
        g_autofree char *objects = g_variant_print (reply, FALSE);
        return strstr (objects, env->job_b) != NULL;
}

/* What a's calls get when nobody authorized a, with polkit (which denies) or without it:
 * the ordinary refusals, naming the actions. */
static void
assert_a_is_no_admin (gboolean with_polkit)
{
        g_autoptr(Env) env = env_new (with_polkit);
        GError *error = NULL;
        GVariant *reply;

        if (!env)
                return;

        reply = bus_client_call_manager (env->a, "ListJobs", g_variant_new ("(b)", TRUE), NULL, &error);
        assert_denied (reply, error, ACTION_MANAGE_ALL);
        g_clear_error (&error);

        reply = bus_client_call_job (env->a, env->job_b, "Suspend", NULL, NULL, &error);
        assert_denied (reply, error, ACTION_MANAGE_ALL);
        g_clear_error (&error);

        reply = bus_client_get_property (env->a, env->job_b, XFERD_JOB_IFACE, "State", &error);
        assert_denied (reply, error, ACTION_MANAGE_ALL);
        g_clear_error (&error);

        g_assert_false (bus_client_set_property (env->a, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                 "MaxBackgroundTransfers", g_variant_new ("u", 7), &error));
        assert_denied (NULL, error, ACTION_CONFIGURE);
        g_clear_error (&error);

        /* The object manager quietly shows a only a's own jobs. */
        g_assert_false (object_manager_shows_a_job_b (env));

        /* Root may, with or without polkit. */
        g_autoptr(GVariant) all = xferd_list_all_jobs (env->fx);
}

static void
test_no_polkit (void)
{
        assert_a_is_no_admin (FALSE);
}

static void
test_denied (void)
{
        assert_a_is_no_admin (TRUE);
}

static void
test_manage_all (void)
{
        g_autoptr(Env) env = env_new (TRUE);
        const char *allowed[] = { ACTION_MANAGE_ALL, NULL };
        GError *error = NULL;
        GVariant *reply;

        if (!env)
                return;
        polkit_allow (env, allowed);

        reply = bus_client_call_manager (env->a, "ListJobs", g_variant_new ("(b)", TRUE),
                                         G_VARIANT_TYPE ("(a(ssssutto))"), &error);
        g_assert_no_error (error);
        g_autofree char *listed = g_variant_print (reply, FALSE);
        g_assert_nonnull (strstr (listed, env->job_b));
        g_variant_unref (reply);

        reply = bus_client_get_property (env->a, env->job_b, XFERD_JOB_IFACE, "DisplayName", &error);
        g_assert_no_error (error);
        g_variant_unref (reply);

        g_assert_true (object_manager_shows_a_job_b (env));

        /* Acting on b's job, up to Cancel. */
        reply = bus_client_call_job (env->a, env->job_b, "Cancel", NULL, NULL, &error);
        g_assert_no_error (error);
        g_variant_unref (reply);
        assert_job_string (env->fx, env->job_b, "State", "cancelled");

        /* manage-all is not configure. */
        g_assert_false (bus_client_set_property (env->a, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                 "MaxBackgroundTransfers", g_variant_new ("u", 7), &error));
        assert_denied (NULL, error, ACTION_CONFIGURE);
        g_clear_error (&error);
}

static void
test_configure (void)
{
        g_autoptr(Env) env = env_new (TRUE);
        const char *allowed[] = { ACTION_CONFIGURE, NULL };
        g_autoptr(GError) error = NULL;
        GVariant *reply;

        if (!env)
                return;
        polkit_allow (env, allowed);
        g_assert_true (bus_client_set_property (env->a, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                "MaxBackgroundTransfers", g_variant_new ("u", 7), &error));
        g_assert_no_error (error);
        g_autoptr(GVariant) value = bus_get_property (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                      "MaxBackgroundTransfers", &error);
        g_assert_no_error (error);
        g_assert_cmpuint (g_variant_get_uint32 (value), ==, 7);

        /* configure is not manage-all. */
        reply = bus_client_call_job (env->a, env->job_b, "Suspend", NULL, NULL, &error);
        assert_denied (reply, error, ACTION_MANAGE_ALL);
}

/* Polkit made to hold its answers, user a's ListJobs(true) from busctl in a process of its own
 * (setpriv execs busctl: ending the process ends a's connection), returned once polkit holds
 * it. */
static GSubprocess *
list_all_held (Env *env, GSubprocessFlags flags)
{
        g_autofree char *address = g_strdup_printf ("--address=%s", env->fx->address);
        g_autoptr(GError) error = NULL;
        GSubprocess *waiting;

        g_autoptr(GVariant) hang = polkit_mock_call (env, "SimulateHang", g_variant_new ("(b)", TRUE));
        waiting = g_subprocess_new (flags, &error, "setpriv", "--reuid=xferd-test-a", "--regid=xferd-test-a",
                                    "--init-groups", "busctl", address, "--timeout=60", "call", XFERD_BUS_NAME,
                                    XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs", "b", "true", NULL);
        g_assert_no_error (error);
        for (gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);;) {
                g_autoptr(GVariant) have = polkit_mock_call (env, "HaveHangingCalls", NULL);
                gboolean any = FALSE;
                g_variant_get (have, "(b)", &any);
                if (any)
                        return waiting;
                g_assert_true (poll_again (deadline, 20));  /* the mock tells of a held call only when asked */
        }
}

/* Polkit lets go of the calls it holds: the list_all_held() call is answered, and lists b's job
 * (a may manage all). */
static void
list_all_released (Env *env, GSubprocess *waiting)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL;
        g_autoptr(GVariant) released = polkit_mock_call (env, "ReleaseHangingCalls", NULL);

        g_subprocess_communicate_utf8 (waiting, NULL, NULL, &out, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (g_subprocess_get_successful (waiting));
        g_assert_nonnull (strstr (out, env->job_b + strlen (XFERD_JOB_PATH_PREFIX)));
}

/* A polkit that takes its time (a password prompt) holds back only the call that waits for it. */
static void
test_slow_polkit_blocks_nobody (void)
{
        g_autoptr(Env) env = env_new (TRUE);
        const char *allowed[] = { ACTION_MANAGE_ALL, NULL };
        g_autoptr(GSubprocess) waiting = NULL;
        g_autoptr(GError) error = NULL;
        GVariant *reply;

        if (!env)
                return;
        polkit_allow (env, allowed);
        /* Once polkit holds a's call, others are answered at once: b, and root. */
        waiting = list_all_held (env, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        reply = bus_client_call_manager (env->b, "ListJobs", g_variant_new ("(b)", FALSE),
                                         G_VARIANT_TYPE ("(a(ssssutto))"), &error);
        g_assert_no_error (error);
        g_variant_unref (reply);
        reply = xferd_list_all_jobs (env->fx);
        g_variant_unref (reply);

        list_all_released (env, waiting);
}

/* A call held for polkit is still to be answered: xferd, idle otherwise, does not exit on
 * idle before it is (it once released its name and left the call unanswered). */
#define HELD_IDLE_TIMEOUT 1

static void
driver_replied (GObject *source, GAsyncResult *result, gpointer data)
{
        bus_async_reply_take (data, source, result);
}

/* Runs the fixture's context until the bus driver answers a call: the signals the bus sent
 * before are recorded by then. */
static void
signals_caught_up (Env *env)
{
        BusAsyncReply r = { .done = FALSE };

        g_main_context_push_thread_default (env->fx->ctx);
        g_dbus_connection_call (env->fx->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "GetId", NULL, G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, WAIT_TIMEOUT_MS, NULL,
                                driver_replied, &r);
        g_main_context_pop_thread_default (env->fx->ctx);
        g_assert_true (bus_fixture_run_until (env->fx, &r.done, WAIT_TIMEOUT_MS));
        g_assert_no_error (r.error);
        bus_async_reply_clear (&r);
}

static void
test_held_call_keeps_xferd (void)
{
        g_autoptr(Env) env = env_new_idle (TRUE, HELD_IDLE_TIMEOUT);
        const char *allowed[] = { ACTION_MANAGE_ALL, NULL };
        g_autoptr(GSubprocess) waiting = NULL;
        guint from;

        if (!env)
                return;
        polkit_allow (env, allowed);
        waiting = list_all_held (env, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        /* On a loaded machine the instance that served the set-up may have gone idle before the
         * call came, and the call started another: that one's name is watched from now on. */
        signals_caught_up (env);
        /* Nothing else calls xferd: it would exit after its idle timeout, but for the held call. */
        from = env->fx->signals->len;
        g_assert_false (bus_wait_name_lost (env->fx, &from, XFERD_BUS_NAME, 4 * HELD_IDLE_TIMEOUT * 1000));

        list_all_released (env, waiting);
}

/* How many connections of uid the bus has. */
static guint
connections_of (Env *env, guint32 uid)
{
        g_autoptr(GVariant) names = bus_driver_call (env->fx, "ListNames", NULL, G_VARIANT_TYPE ("(as)"), NULL);
        g_autoptr(GVariantIter) iter = NULL;
        const char *name;
        guint n = 0;

        g_variant_get (names, "(as)", &iter);
        while (g_variant_iter_next (iter, "&s", &name)) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) user = NULL;
                guint32 u;

                if (name[0] != ':')
                        continue;
                user = bus_driver_call (env->fx, "GetConnectionUnixUser", g_variant_new ("(s)", name),
                                        G_VARIANT_TYPE ("(u)"), &error);
                if (!user)
                        continue;  /* gone meanwhile */
                g_variant_get (user, "(u)", &u);
                n += u == uid;
        }
        return n;
}

/* A caller that leaves while polkit holds its call: once polkit answers, the call is dropped
 * for good, and xferd, idle, exits (it once kept the polkit query, and the call, for ever:
 * on its second pass the credentials' filter asked the bus about the departed caller and
 * refused the call itself, before polkit's filter could let go of it). */
static void
test_caller_gone_while_held (void)
{
        g_autoptr(Env) env = env_new_idle (TRUE, HELD_IDLE_TIMEOUT);
        const char *allowed[] = { ACTION_MANAGE_ALL, NULL };
        g_autoptr(GSubprocess) waiting = NULL;
        g_autoptr(GError) error = NULL;
        guint32 uid_a;
        guint from;

        if (!env)
                return;
        uid_a = bus_client_uid (env->a);
        polkit_allow (env, allowed);
        waiting = list_all_held (env, G_SUBPROCESS_FLAGS_NONE);
        g_subprocess_force_exit (waiting);
        g_subprocess_wait (waiting, NULL, &error);
        g_assert_no_error (error);
        /* Gone from the bus: a's other connection (env->a) is left. */
        for (gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS); connections_of (env, uid_a) > 1;)
                g_assert_true (poll_again (deadline, 20));

        from = env->fx->signals->len;
        g_autoptr(GVariant) released = polkit_mock_call (env, "ReleaseHangingCalls", NULL);
        g_assert_true (bus_wait_name_lost (env->fx, &from, XFERD_BUS_NAME, WAIT_TIMEOUT_MS));
}

/* Calls held for polkit's answer are bounded (each keeps its message, and polkit may wait as
 * long as a user leaves a password prompt open): of a user's calls that polkit must answer,
 * sent together (xferd-bus-flood, as xferd-test-a) while it answers none, xferd holds some and
 * refuses the rest with LimitsExceeded at once; once polkit answers, the held ones are
 * answered too. */
typedef struct {
        const char *mode;       /* xferd-bus-flood's */
        guint calls;
        guint held;
        guint ok;               /* of the held ones, answered without an error */
} HeldFlood;

/* Bounded in number: ListJobs(true) calls, of which 32 are held. */
static const HeldFlood held_calls = { "polkit", 40, 32, 32 };
/* ... and in bytes: calls of 6 MiB each (ListJobs(true) with a string more), of which a
 * sender's 16 MiB hold two; once polkit answers, those get sd-bus's InvalidArgs for their
 * extra argument. */
static const HeldFlood held_bytes = { "polkit-big", 5, 2, 0 };

static void
test_held_bounded (gconstpointer data)
{
        const HeldFlood *f = data;
        g_autoptr(Env) env = env_new (TRUE);
        const char *allowed[] = { ACTION_MANAGE_ALL, NULL };
        g_autoptr(GError) error = NULL;

        if (!env)
                return;
        polkit_allow (env, allowed);
        g_autoptr(GVariant) hang = polkit_mock_call (env, "SimulateHang", g_variant_new ("(b)", TRUE));
        g_autofree char *binary = flood_binary (env->fx);
        g_autoptr(GSubprocess) flood = flood_spawn (env->fx, binary, "xferd-test-a", f->mode, f->calls);
        g_autofree char *refused = flood_read_line (flood);
        g_autofree char *want_refused = g_strdup_printf ("refused %u", f->calls - f->held);
        g_assert_cmpstr (refused, ==, want_refused);

        g_autoptr(GVariant) released = polkit_mock_call (env, "ReleaseHangingCalls", NULL);
        g_output_stream_write_all (g_subprocess_get_stdin_pipe (flood), "go\n", 3, NULL, NULL, &error);
        g_assert_no_error (error);
        g_autofree char *ok = flood_read_line (flood);
        g_autofree char *want_ok = g_strdup_printf ("ok %u", f->ok);
        g_assert_cmpstr (ok, ==, want_ok);
        flood_finish (flood);
}

const TestCase test_cases[] = {
        { "/polkit/absent-root-only", test_no_polkit },
        { "/polkit/denied", test_denied },
        { "/polkit/manage-all", test_manage_all },
        { "/polkit/configure", test_configure },
        { "/polkit/slow-polkit-blocks-nobody", test_slow_polkit_blocks_nobody },
        { "/polkit/held-call-keeps-xferd", test_held_call_keeps_xferd },
        { "/polkit/caller-gone-while-held", test_caller_gone_while_held },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/polkit/held-bounded", test_held_bounded, &held_calls },
        { "/polkit/held-bytes-bounded", test_held_bounded, &held_bytes },
        { NULL, NULL, NULL }
};
