/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A new caller's calls wait, without blocking xferd, until the bus driver has told xferd who the
 * caller is (bus/bus-creds.c): they are held back, then handled in the order they came; past a
 * bound (of one caller, of all) they are refused at once with LimitsExceeded; when the driver cannot tell (the caller
 * left before xferd asked), they are refused and the departure is still noticed.
 *
 * Each case stops xferd (SIGSTOP) while a new connection sends its calls, and makes sure the
 * bus has queued them all for xferd (a round trip to the driver on the same connection: the
 * driver handles a connection's messages in order) before xferd runs again: xferd's question
 * about the caller then comes after all of them, so every one is held. (The loop's freedom
 * meanwhile is /bus-resources/unread-replies' subject.)
 *
 * A system-type bus, for xferd's log; needs root, skips without it unless CI=true.
 */
#include <signal.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "poll-wait.h"
#include "proc-stat.h"
#include "test-cases.h"

#define DBUS_ERROR_LIMITS_EXCEEDED "org.freedesktop.DBus.Error.LimitsExceeded"
#define DBUS_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

/* bus/bus-creds.c's CREDS_MAX_HELD, CREDS_MAX_HELD_ALL, and the bytes held of a sender and of
 * all (MiB). */
#define MAX_HELD 128
#define MAX_HELD_ALL 1024
#define MAX_HELD_MIB 16
#define MAX_HELD_ALL_MIB 64
/* xferd's refusal past them. */
#define HELD_REFUSAL "Too many calls before xferd learned the caller's user"

/* dbus-daemon's own bound of a connection's calls awaiting replies is 128 by default, as
 * xferd's: raised, so that the bound met is xferd's. */
static const char raised_limits[] = "  <limit name=\"max_replies_per_connection\">10000</limit>\n";

static BusFixture *
fixture_new (void)
{
        BusFixtureOptions options = { .system_bus = TRUE, .idle_timeout = 0, .extra_bus_policy = raised_limits };

        if (geteuid () != 0 && !test_needs ("root (a system-type bus)"))
                return NULL;
        return bus_fixture_new (&options);
}

/* Stops xferd, running for sure (a call answered), and waits until it is stopped. */
static guint32
xferd_stop (BusFixture *fx)
{
        g_autoptr(GVariant) version = bus_get_property (fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "Version", NULL);
        guint32 pid = bus_fixture_note_xferd (fx);
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);

        g_assert_nonnull (version);
        g_assert_cmpuint (pid, >, 0);
        g_assert_cmpint (kill ((pid_t) pid, SIGSTOP), ==, 0);
        while (proc_pid_state ((pid_t) pid) != 'T')
                g_assert_true (poll_again (deadline, 5));
        return pid;
}

static void
xferd_continue (guint32 pid)
{
        g_assert_cmpint (kill ((pid_t) pid, SIGCONT), ==, 0);
}

/* The replies to a caller's calls, as they arrive. */
typedef struct {
        guint want;
        guint done;
        gboolean all;           /* done == want */
        guint *order;           /* the index of each reply, in the order of arrival */
        guint timeout_ms;       /* for all of them to arrive once xferd goes on; 0: WAIT_TIMEOUT_MS */
} Replies;

/* For the cases of 10 MiB calls: an xferd built with ASan, at load, read and measured the
 * 80 MiB of eight of them in more than WAIT_TIMEOUT_MS, and every call ended "Timeout was
 * reached" before the refusals could be counted. The test's own timeout bounds them. */
#define BIG_CALL_TIMEOUT_MS (6 * WAIT_TIMEOUT_MS)

/* An asynchronous call's outcome; index: the order it was sent in. */
typedef struct {
        guint index;
        Replies *replies;
        BusAsyncReply call;
} Outcome;

static void
outcome_done (GObject *source, GAsyncResult *result, gpointer data)
{
        Outcome *o = data;
        Replies *r = o->replies;

        bus_async_reply_take (&o->call, source, result);
        r->order[r->done++] = o->index;
        r->all = r->done == r->want;
}

/* Whether o was refused by xferd's bound of held calls; else it was handled. */
static gboolean
outcome_refused_held (const Outcome *o)
{
        return o->call.error && g_error_matches (o->call.error, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED) &&
               strstr (o->call.error->message, HELD_REFUSAL);
}

/* Asserts that o was refused by xferd's bound of held calls. */
static void
assert_refused_held (const Outcome *o)
{
        bus_assert_error (o->call.error, DBUS_ERROR_LIMITS_EXCEEDED);
        g_assert_nonnull (strstr (o->call.error->message, HELD_REFUSAL));
}

static void
outcomes_clear (Outcome *o, guint n)
{
        for (guint i = 0; i < n; i++)
                bus_async_reply_clear (&o[i].call);
}

static void
call_async (GDBusConnection *conn, const char *iface, const char *method, GVariant *params,
            const GVariantType *reply_type, Outcome *o)
{
        g_dbus_connection_call (conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, iface, method, params, reply_type,
                                G_DBUS_CALL_FLAGS_NONE, WAIT_TIMEOUT_MS, NULL, outcome_done, o);
}

static void
call_manager_async (GDBusConnection *conn, const char *method, GVariant *params, const GVariantType *reply_type,
                    Outcome *o)
{
        call_async (conn, XFERD_MANAGER_IFACE, method, params, reply_type, o);
}

/* The Manager's Version, the call xferd answers with the least work. */
static void
get_version_async (GDBusConnection *conn, Outcome *o)
{
        call_async (conn, "org.freedesktop.DBus.Properties", "Get",
                    g_variant_new ("(ss)", XFERD_MANAGER_IFACE, "Version"), G_VARIANT_TYPE ("(v)"), o);
}

/* Connects n callers new to xferd (conn[0] to conn[n - 1]), then stops xferd: what they send
 * now waits in the bus, and then in xferd for the bus to say who they are. */
static guint32
new_callers_xferd_stopped (BusFixture *fx, GDBusConnection **conn, guint n)
{
        for (guint c = 0; c < n; c++)
                conn[c] = bus_connect (fx->address);
        return xferd_stop (fx);
}

/* Once the bus holds all the callers sent, xferd (pid) goes on; every reply arrives. */
static void
xferd_continue_until_replied (BusFixture *fx, GDBusConnection **conn, guint n, guint32 pid, Replies *replies)
{
        for (guint c = 0; c < n; c++)
                bus_driver_round_trip (conn[c]);
        xferd_continue (pid);
        g_assert_true (bus_fixture_run_until (fx, &replies->all, replies->timeout_ms ? replies->timeout_ms : WAIT_TIMEOUT_MS));
}

/* Two jobs made and then listed by a new caller: each call handled after the one before it. */
static void
test_held_in_order (void)
{
        g_autoptr(BusFixture) fx = fixture_new ();
        g_autoptr(GDBusConnection) conn = NULL;
        Outcome o[3];
        guint order[3];
        Replies replies = { .want = 3, .order = order };
        const char *first_path, *second_path, *id, *name, *path;
        g_autoptr(GVariant) rows = NULL;
        g_autofree char *log = NULL;
        guint32 pid;

        if (!fx)
                return;
        pid = new_callers_xferd_stopped (fx, &conn, 1);
        for (guint i = 0; i < 3; i++)
                o[i] = (Outcome) { .index = i, .replies = &replies };
        call_manager_async (conn, "CreateJob", g_variant_new ("(sa{sv})", "first", NULL), G_VARIANT_TYPE ("(so)"),
                            &o[0]);
        call_manager_async (conn, "CreateJob", g_variant_new ("(sa{sv})", "second", NULL), G_VARIANT_TYPE ("(so)"),
                            &o[1]);
        call_manager_async (conn, "ListJobs", g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("(a(ssssutto))"), &o[2]);
        xferd_continue_until_replied (fx, &conn, 1, pid, &replies);
        for (guint i = 0; i < 3; i++) {
                g_assert_no_error (o[i].call.error);
                g_assert_cmpuint (order[i], ==, i);
        }
        g_variant_get (o[0].call.reply, "(&s&o)", NULL, &first_path);
        g_variant_get (o[1].call.reply, "(&s&o)", NULL, &second_path);
        /* The list, third, sees both jobs, in the order they were made. */
        rows = g_variant_get_child_value (o[2].call.reply, 0);
        g_assert_cmpuint (g_variant_n_children (rows), ==, 2);
        for (guint i = 0; i < 2; i++) {
                guint32 owner;

                g_variant_get_child (rows, i, "(&s&s&s&sutt&o)", &id, &name, NULL, NULL, &owner, NULL, NULL, &path);
                g_assert_cmpstr (name, ==, i == 0 ? "first" : "second");
                g_assert_cmpstr (path, ==, i == 0 ? first_path : second_path);
                g_assert_cmpuint (owner, ==, geteuid ());
        }
        /* (And they were held: xferd says so.) */
        log = bus_fixture_wait_xferd_log (fx, "3 calls held meanwhile go on", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
        outcomes_clear (o, 3);
}

/* More calls before the answer than xferd holds for one caller: the ones past the bound are
 * refused at once, the others handled. */
static void
test_held_bounded (void)
{
        enum { N = MAX_HELD + 40 };
        g_autoptr(BusFixture) fx = fixture_new ();
        g_autoptr(GDBusConnection) conn = NULL;
        g_autofree Outcome *o = g_new0 (Outcome, N);
        g_autofree guint *order = g_new0 (guint, N);
        Replies replies = { .want = N, .order = order };
        guint32 pid;

        if (!fx)
                return;
        pid = new_callers_xferd_stopped (fx, &conn, 1);
        for (guint i = 0; i < N; i++) {
                o[i] = (Outcome) { .index = i, .replies = &replies };
                get_version_async (conn, &o[i]);
        }
        xferd_continue_until_replied (fx, &conn, 1, pid, &replies);
        for (guint i = 0; i < N; i++)
                if (i < MAX_HELD) {
                        g_assert_no_error (o[i].call.error);
                        g_assert_nonnull (o[i].call.reply);
                } else
                        assert_refused_held (&o[i]);
        /* The refusals came first (at once), the held calls after the answer, in order. */
        for (guint i = 0; i < N; i++)
                g_assert_cmpuint (order[i], ==, i < N - MAX_HELD ? MAX_HELD + i : i - (N - MAX_HELD));
        /* The caller is known now: nothing is held or refused any more. */
        bus_list_jobs_answered (conn);
        outcomes_clear (o, N);
}

/* Many new callers at once, each under its own bound: past MAX_HELD_ALL held calls in all,
 * the others are refused. */
static void
test_held_bounded_all (void)
{
        enum { CALLERS = 9, EACH = 120, N = CALLERS * EACH };
        g_autoptr(BusFixture) fx = fixture_new ();
        GDBusConnection *conn[CALLERS];
        g_autofree Outcome *o = g_new0 (Outcome, N);
        g_autofree guint *order = g_new0 (guint, N);
        Replies replies = { .want = N, .order = order };
        guint ok = 0, refused = 0;
        guint32 pid;

        G_STATIC_ASSERT (EACH < MAX_HELD && N > MAX_HELD_ALL);
        if (!fx)
                return;
        pid = new_callers_xferd_stopped (fx, conn, CALLERS);
        for (guint i = 0; i < N; i++) {
                o[i] = (Outcome) { .index = i, .replies = &replies };
                get_version_async (conn[i / EACH], &o[i]);
        }
        xferd_continue_until_replied (fx, conn, CALLERS, pid, &replies);
        for (guint i = 0; i < N; i++)
                if (o[i].call.reply)
                        ok++;
                else {
                        assert_refused_held (&o[i]);
                        refused++;
                }
        g_assert_cmpuint (ok, ==, MAX_HELD_ALL);
        g_assert_cmpuint (refused, ==, N - MAX_HELD_ALL);
        outcomes_clear (o, N);
        for (guint c = 0; c < CALLERS; c++)
                g_object_unref (conn[c]);
}

/* A call of about mib MiB: Properties.Get of an interface whose name is that long (handled, it
 * fails with an error of sd-bus's, not LimitsExceeded). */
static void
call_big_async (GDBusConnection *conn, guint mib, Outcome *o)
{
        g_autofree char *name = g_malloc (mib * 1024 * 1024 + 1);

        memset (name, 'x', mib * 1024 * 1024);
        name[mib * 1024 * 1024] = '\0';
        g_dbus_connection_call (conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get",
                                g_variant_new ("(ss)", name, "Version"), G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                BIG_CALL_TIMEOUT_MS, NULL, outcome_done, o);
}

/* Held calls are bounded in bytes too, each a message the caller chose: of three 10 MiB calls
 * of a new caller, the first is held (a sender's first always can be), the two others would
 * pass its 16 MiB and are refused at once. */
static void
test_held_bytes_bounded (void)
{
        enum { N = 3, MIB = 10 };
        g_autoptr(BusFixture) fx = fixture_new ();
        g_autoptr(GDBusConnection) conn = NULL;
        Outcome o[N] = { { 0 } };
        guint order[N];
        Replies replies = { .want = N, .order = order, .timeout_ms = BIG_CALL_TIMEOUT_MS };
        guint32 pid;

        G_STATIC_ASSERT (MIB <= MAX_HELD_MIB && 2 * MIB > MAX_HELD_MIB);
        if (!fx)
                return;
        pid = new_callers_xferd_stopped (fx, &conn, 1);
        for (guint i = 0; i < N; i++) {
                o[i] = (Outcome) { .index = i, .replies = &replies };
                call_big_async (conn, MIB, &o[i]);
        }
        xferd_continue_until_replied (fx, &conn, 1, pid, &replies);
        g_assert_false (outcome_refused_held (&o[0]));
        g_assert_nonnull (o[0].call.error);  /* handled: no such interface */
        for (guint i = 1; i < N; i++)
                assert_refused_held (&o[i]);
        outcomes_clear (o, N);
}

/* ... and in all: eight new callers with a 10 MiB call each; 64 MiB hold six of them. */
static void
test_held_bytes_bounded_all (void)
{
        enum { CALLERS = 8, MIB = 10, HELD = MAX_HELD_ALL_MIB / MIB };
        g_autoptr(BusFixture) fx = fixture_new ();
        GDBusConnection *conn[CALLERS];
        Outcome o[CALLERS] = { { 0 } };
        guint order[CALLERS];
        Replies replies = { .want = CALLERS, .order = order, .timeout_ms = BIG_CALL_TIMEOUT_MS };
        guint refused = 0;
        guint32 pid;

        G_STATIC_ASSERT (CALLERS > HELD);
        if (!fx)
                return;
        pid = new_callers_xferd_stopped (fx, conn, CALLERS);
        for (guint c = 0; c < CALLERS; c++) {
                o[c] = (Outcome) { .index = c, .replies = &replies };
                call_big_async (conn[c], MIB, &o[c]);
        }
        xferd_continue_until_replied (fx, conn, CALLERS, pid, &replies);
        for (guint c = 0; c < CALLERS; c++) {
                /* What each caller got, for a failure's log. */
                g_test_message ("caller %u: %.100s", c, o[c].call.error ? o[c].call.error->message : "a reply");
                if (outcome_refused_held (&o[c]))
                        refused++;
        }
        g_assert_cmpuint (refused, ==, CALLERS - HELD);
        outcomes_clear (o, CALLERS);
        for (guint c = 0; c < CALLERS; c++)
                g_object_unref (conn[c]);
}

/* A caller that leaves before xferd could ask about it: the bus cannot tell, so its call is
 * refused (nobody reads the refusal) and nothing is made; the departure is still noticed,
 * and xferd goes on. */
static void
test_lookup_fails (void)
{
        g_autoptr(BusFixture) fx = fixture_new ();
        g_autoptr(GDBusConnection) conn = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *unique = NULL;
        g_autofree char *needle = NULL;
        g_autofree char *log = NULL;
        g_autoptr(GVariant) jobs = NULL;
        guint32 pid;

        if (!fx)
                return;
        conn = bus_connect (fx->address);
        unique = g_strdup (g_dbus_connection_get_unique_name (conn));
        pid = xferd_stop (fx);
        g_dbus_connection_call (conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "CreateJob",
                                g_variant_new ("(sa{sv})", "orphan", NULL), G_VARIANT_TYPE ("(so)"),
                                G_DBUS_CALL_FLAGS_NONE, WAIT_TIMEOUT_MS, NULL, NULL, NULL);
        bus_driver_round_trip (conn);
        g_dbus_connection_close_sync (conn, NULL, &error);
        g_assert_no_error (error);
        /* Gone for the bus before xferd reads the call. */
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);
        for (;;) {
                g_autoptr(GVariant) has = bus_driver_call (fx, "NameHasOwner", g_variant_new ("(s)", unique),
                                                           G_VARIANT_TYPE ("(b)"), NULL);
                gboolean owned;

                g_variant_get (has, "(b)", &owned);
                if (!owned)
                        break;
                g_assert_true (poll_again (deadline, 5));
        }
        xferd_continue (pid);

        needle = g_strdup_printf ("Cannot learn the user of %s from the bus", unique);
        log = bus_fixture_wait_xferd_log (fx, needle, WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
        jobs = xferd_list_all_jobs (fx);
        g_assert_cmpuint (g_variant_n_children (jobs), ==, 0);
        g_assert_cmpuint (bus_fixture_note_xferd (fx), ==, pid);
}

const TestCase test_cases[] = {
        { "/caller-creds/held-in-order", test_held_in_order },
        { "/caller-creds/held-bounded", test_held_bounded },
        { "/caller-creds/held-bounded-all", test_held_bounded_all },
        { "/caller-creds/held-bytes-bounded", test_held_bytes_bounded },
        { "/caller-creds/held-bytes-bounded-all", test_held_bytes_bounded_all },
        { "/caller-creds/lookup-fails", test_lookup_fails },
        { NULL, NULL }
};
