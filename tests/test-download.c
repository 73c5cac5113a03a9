/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Downloads end to end through the real xferd: byte-exact content, the
 * hidden temporary file before Complete, the final mode, state signals,
 * Suspend/Resume keeping partial data, several files, request headers.
 */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "poll-wait.h"
#include "test-cases.h"
#include "xferd-env.h"
#include "xferd-process.h"

#define SIZE (1024 * 1024 + 123)   /* several curl writes, not a round number */
#define STALL (256 * 1024)

/* Auto-complete (the default): the file appears by itself, byte-exact,
 * mode 0644, with nothing else left in the directory. */
static void
test_auto_complete (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, TRUE, &id);

        g_assert_nonnull (bus_wait_signal (env->fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew",
                                           xferd_match_job_new, id, WAIT_TIMEOUT_MS));
        assert_job_removed (env->fx, id, "acknowledged");

        assert_dest_complete (env);
        assert_job_string (env->fx, job, "State", "acknowledged");
        g_assert_false (xferd_lists_job (env->fx, id));
        xferd_assert_no_such_job (env->fx, id);
}

/* auto-complete false: only a hidden temporary file in the destination's
 * directory until Complete, then the file with mode 0644. */
static void
test_manual_complete (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);

        job_wait_state (env->fx, job, "transferred");
        g_assert_nonnull (bus_wait_signal (env->fx, NULL, job, XFERD_JOB_IFACE, "Transferred",
                                           NULL, NULL, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, SIZE);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, SIZE);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);
        g_assert_true (xferd_lists_job (env->fx, id));

        /* ListFiles: (env->url, local path, temporary path, total, transferred, completed) */
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) files = bus_call_job (env->fx, job, "ListFiles", NULL,
                                                  G_VARIANT_TYPE ("(a(sssttb))"), &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) entries = g_variant_get_child_value (files, 0);
        g_assert_cmpuint (g_variant_n_children (entries), ==, 1);
        const char *furl, *fpath, *ftemp;
        guint64 total, done;
        gboolean completed;
        g_variant_get_child (entries, 0, "(&s&s&sttb)", &furl, &fpath, &ftemp, &total, &done, &completed);
        g_assert_cmpstr (furl, ==, env->url);
        g_assert_cmpstr (fpath, ==, env->dest);
        g_assert_cmpuint (total, ==, SIZE);
        g_assert_cmpuint (done, ==, SIZE);
        g_assert_true (completed);

        /* The temporary file: hidden, in the destination's directory. */
        g_autofree char *temp_dir = g_path_get_dirname (ftemp);
        g_autofree char *temp_name = g_path_get_basename (ftemp);
        g_assert_cmpstr (temp_dir, ==, env->dir);
        g_assert_true (temp_name[0] == '.');
        const char *const before[] = { temp_name, NULL };
        assert_dir_is (env->dir, before);
        assert_file_content (ftemp, env->content);
        assert_file_mode (ftemp, 0600);

        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
        job_wait_state (env->fx, job, "acknowledged");
        assert_job_removed (env->fx, id, "acknowledged");
        xferd_assert_no_such_job (env->fx, id);
}

/* Every state change is announced with PropertiesChanged. */
static void
test_state_signals (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        xferd_complete (env->fx, job);
        g_autoptr(GPtrArray) history = job_state_history (env->fx, job);
        g_ptr_array_add (history, NULL);
        g_autofree char *seen = g_strjoinv (" ", (GStrv) history->pdata);
        g_test_message ("State values in PropertiesChanged: %s", seen);

        /* In this order, possibly with others between (queued may be set
         * before the object is announced). */
        static const char *const expected[] = { "connecting", "transferring", "transferred", "acknowledged", NULL };
        guint next = 0;
        for (guint i = 0; history->pdata[i] && expected[next]; i++)
                if (strcmp (history->pdata[i], expected[next]) == 0)
                        next++;
        g_assert_cmpstr (expected[next], ==, NULL);
}

static gboolean
match_priority_changed (const RecordedSignal *sig, gpointer data)
{
        g_autoptr(GVariant) changed = NULL;

        g_variant_get (sig->params, "(&s@a{sv}@as)", NULL, &changed, NULL);
        return g_variant_lookup (changed, "Priority", "&s", NULL);
}

/* A call that changes several properties (AddFile: the state's ModificationTime, the file
 * counters, BytesTotal) announces them in one PropertiesChanged, not one per change. The
 * write of Priority after it is a marker: its signal comes after every signal of AddFile. */
static void
test_one_signal_per_call (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *job = xferd_create_job (env->fx, "one signal", NULL);
        g_autoptr(GError) error = NULL;
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        guint marker = from;

        xferd_add_file (env->fx, job, env->url, env->dest);
        g_autoptr(GVariant) set = g_dbus_connection_call_sync (
                env->fx->conn, XFERD_BUS_NAME, job, "org.freedesktop.DBus.Properties", "Set",
                g_variant_new ("(ssv)", XFERD_JOB_IFACE, "Priority", g_variant_new_string ("low")),
                NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (bus_wait_signal (env->fx, &marker, job, "org.freedesktop.DBus.Properties",
                                           "PropertiesChanged", match_priority_changed, NULL, WAIT_TIMEOUT_MS));

        guint n = 0;
        for (guint i = from; i + 1 < marker; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                g_autoptr(GVariant) changed = NULL;

                if (g_strcmp0 (sig->path, job) != 0 || g_strcmp0 (sig->member, "PropertiesChanged") != 0)
                        continue;
                n++;
                g_variant_get (sig->params, "(&s@a{sv}@as)", NULL, &changed, NULL);
                g_assert_true (g_variant_lookup (changed, "State", "&s", NULL));
                g_assert_true (g_variant_lookup (changed, "FilesTotal", "u", NULL));
        }
        g_assert_cmpuint (n, ==, 1);
}

/* Download is one step (create, add the file, resume: one commit), so the suspended job it
 * passes through inside the call is never announced; JobNew comes before any
 * PropertiesChanged of the job. */
static void
test_download_one_step (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, TRUE, &id);

        assert_job_removed (env->fx, id, "acknowledged");
        g_autoptr(GPtrArray) history = job_state_history (env->fx, job);
        for (guint i = 0; i < history->len; i++)
                g_assert_cmpstr (g_ptr_array_index (history, i), !=, "suspended");

        gboolean announced = FALSE;
        for (guint i = from; i < env->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                if (xferd_match_job_new (sig, id))
                        announced = TRUE;
                else if (g_strcmp0 (sig->path, job) == 0 && g_strcmp0 (sig->member, "PropertiesChanged") == 0)
                        g_assert_true (announced);
        }
        g_assert_true (announced);
}

/* The messages the connection received, in the order they arrived: a filter sees them on
 * GDBus's worker thread as they are read, while the callbacks of signals and replies run later,
 * and a reply's possibly after a signal that arrived behind it. */
typedef struct {
        GMutex lock;
        GPtrArray *messages;    /* GDBusMessage */
} Arrivals;

static void
arrivals_clear (gpointer data)
{
        Arrivals *a = data;

        g_ptr_array_unref (a->messages);
        g_mutex_clear (&a->lock);
}

/* A filter may still run once removed: it holds a reference of its own. */
static void
arrivals_release (gpointer data)
{
        g_atomic_rc_box_release_full (data, arrivals_clear);
}

static GDBusMessage *
record_arrival (GDBusConnection *conn, GDBusMessage *message, gboolean incoming, gpointer data)
{
        Arrivals *a = data;

        if (incoming) {
                g_mutex_lock (&a->lock);
                g_ptr_array_add (a->messages, g_object_ref (message));
                g_mutex_unlock (&a->lock);
        }
        return message;
}

/* Calls method of the Manager, for a job: the reply (asserted), and in *before the messages
 * the connection received between the call and its reply. */
static GVariant *
call_seen_before_reply (BusFixture *fx, const char *method, GVariant *params, GPtrArray **before)
{
        Arrivals *a = g_atomic_rc_box_new0 (Arrivals);
        g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call (XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                                                       XFERD_MANAGER_IFACE, method);
        g_autoptr(GDBusMessage) reply = NULL;
        g_autoptr(GError) error = NULL;
        guint32 serial = 0;
        guint filter;

        g_mutex_init (&a->lock);
        a->messages = g_ptr_array_new_with_free_func (g_object_unref);
        g_dbus_message_set_body (call, params);
        filter = g_dbus_connection_add_filter (fx->conn, record_arrival, g_atomic_rc_box_acquire (a), arrivals_release);
        reply = g_dbus_connection_send_message_with_reply_sync (fx->conn, call, G_DBUS_SEND_MESSAGE_FLAGS_NONE, -1,
                                                                &serial, NULL, &error);
        g_dbus_connection_remove_filter (fx->conn, filter);
        g_assert_no_error (error);
        g_assert_true (g_dbus_message_to_gerror (reply, &error) == FALSE);
        bus_fixture_note_xferd (fx);

        /* The reply arrived after what came before it: every one of those is in by now. */
        *before = g_ptr_array_new_with_free_func (g_object_unref);
        g_mutex_lock (&a->lock);
        for (guint i = 0; i < a->messages->len; i++) {
                GDBusMessage *m = g_ptr_array_index (a->messages, i);

                if (g_dbus_message_get_message_type (m) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN &&
                    g_dbus_message_get_reply_serial (m) == serial)
                        break;
                g_ptr_array_add (*before, g_object_ref (m));
        }
        g_mutex_unlock (&a->lock);
        arrivals_release (a);
        return g_variant_ref (g_dbus_message_get_body (reply));
}

/* What a state change's PropertiesChanged carries beside State: a new job's InterfacesAdded
 * carries them too. */
static const char *const state_group[] = { "ModificationTime", "TransferCompletionTime", "ErrorName", "ErrorCount",
                                           "NextRetryTime", "BytesTransferred", "BytesTotal", "FilesTransferred",
                                           "FilesTotal", "CurrentFile", "Rate", "ExpectedEndTime", "BytesFromCache",
                                           "BytesFromOrigin", "WaitReason", NULL };
/* Of them, those a state change leaves out while they stay zero or empty, as last told. */
static const char *const zero_group[] = { "TransferCompletionTime", "ErrorName", "ErrorCount", "NextRetryTime",
                                          "BytesFromCache", "BytesFromOrigin", NULL };

/* What a job's creation sent before the call's reply, for the job at path (id): its
 * InterfacesAdded (with State `state` and FilesTotal `files`, and every property a state change
 * carries, which no PropertiesChanged repeats), then its JobNew, and nothing else of it. Returns
 * the job's interface in the InterfacesAdded. */
static GVariant *
assert_announced_alone (GPtrArray *before, const char *path, const char *id, const char *state, guint32 files)
{
        GVariant *props = NULL;
        guint n = 0;

        for (guint i = 0; i < before->len; i++) {
                GDBusMessage *m = g_ptr_array_index (before, i);
                GVariant *body = g_dbus_message_get_body (m);
                const char *member = g_dbus_message_get_member (m);
                g_autoptr(GVariant) ifaces = NULL;
                const char *object = NULL, *got = NULL;
                guint32 total = 0;

                if (g_dbus_message_get_message_type (m) != G_DBUS_MESSAGE_TYPE_SIGNAL)
                        continue;
                if (g_strcmp0 (member, "InterfacesAdded") == 0) {
                        g_variant_get (body, "(&o@a{sa{sv}})", &object, &ifaces);
                        if (g_strcmp0 (object, path) != 0)
                                continue;
                        g_assert_cmpuint (n++, ==, 0);
                        props = g_variant_lookup_value (ifaces, XFERD_JOB_IFACE, G_VARIANT_TYPE_VARDICT);
                        g_assert_nonnull (props);
                        g_assert_true (g_variant_lookup (props, "State", "&s", &got));
                        g_assert_cmpstr (got, ==, state);
                        g_assert_true (g_variant_lookup (props, "Id", "&s", &got));
                        g_assert_cmpstr (got, ==, id);
                        g_assert_true (g_variant_lookup (props, "FilesTotal", "u", &total));
                        g_assert_cmpuint (total, ==, files);
                        for (guint k = 0; state_group[k]; k++) {
                                if (!g_variant_lookup_value (props, state_group[k], NULL))
                                        g_test_message ("%s not in InterfacesAdded", state_group[k]);
                                g_assert_true (g_variant_lookup (props, state_group[k], "*", NULL));
                        }
                        /* Names and texts never travel in signals. */
                        g_assert_false (g_variant_lookup (props, "DisplayName", "*", NULL));
                        g_assert_false (g_variant_lookup (props, "ErrorMessage", "*", NULL));
                } else if (g_strcmp0 (member, "JobNew") == 0) {
                        g_variant_get (body, "(&s&o)", &got, &object);
                        if (g_strcmp0 (got, id) != 0)
                                continue;
                        g_assert_cmpstr (object, ==, path);
                        g_assert_cmpuint (n++, ==, 1);
                } else if (g_strcmp0 (g_dbus_message_get_path (m), path) == 0) {
                        g_autofree char *text = body ? g_variant_print (body, FALSE) : NULL;
                        g_test_message ("%s of the new job before its reply: %s", member, text);
                        g_assert_not_reached ();
                }
        }
        g_assert_cmpuint (n, ==, 2);
        return props;
}

/* Calls method of the Manager, which creates a job, and asserts that the job was announced
 * alone before the reply (assert_announced_alone()). Returns the job's interface in its
 * InterfacesAdded, and the reply's id and job path. */
static GVariant *
call_announced (BusFixture *fx, const char *method, GVariant *params, const char *state, guint32 files,
                char **ret_id, char **ret_job)
{
        g_autoptr(GPtrArray) before = NULL;
        g_autoptr(GVariant) reply = call_seen_before_reply (fx, method, params, &before);

        g_variant_get (reply, "(so)", ret_id, ret_job);
        return assert_announced_alone (before, *ret_job, *ret_id, state, files);
}

/* The first PropertiesChanged of job at or after from that carries its State: what stayed zero
 * since the InterfacesAdded told it is left out; ErrorMessage, which InterfacesAdded cannot
 * carry, is named as invalidated. */
static void
assert_first_state_change (BusFixture *fx, guint from, const char *job, const char *state)
{
        g_autoptr(GVariant) changed = NULL;
        g_autofree const char **invalidated = NULL;
        const char *got = NULL;

        for (;;) {
                const RecordedSignal *sig = bus_wait_signal (fx, &from, job, "org.freedesktop.DBus.Properties",
                                                             "PropertiesChanged", NULL, NULL, WAIT_TIMEOUT_MS);

                g_assert_nonnull (sig);
                g_clear_pointer (&changed, g_variant_unref);
                g_clear_pointer (&invalidated, g_free);
                g_variant_get (sig->params, "(&s@a{sv}^a&s)", NULL, &changed, &invalidated);
                if (g_variant_lookup (changed, "State", "&s", &got))
                        break;
        }
        g_assert_cmpstr (got, ==, state);
        g_assert_true (g_variant_lookup (changed, "ModificationTime", "t", NULL));
        for (guint i = 0; zero_group[i]; i++) {
                if (g_variant_lookup_value (changed, zero_group[i], NULL))
                        g_test_message ("%s told again", zero_group[i]);
                g_assert_false (g_variant_lookup (changed, zero_group[i], "*", NULL));
        }
        g_assert_true (g_strv_contains (invalidated, "ErrorMessage"));
}

/* A Download is announced by its job's InterfacesAdded (State queued, and what the state's
 * PropertiesChanged would carry) and JobNew, then answered; no PropertiesChanged repeats what
 * the InterfacesAdded told. The job's first state change after that leaves out what stayed
 * zero. */
static void
test_download_announced (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL, *job = NULL;
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        g_autoptr(GVariant) props = call_announced (env->fx, "Download",
                                                    g_variant_new ("(ssa{sv})", env->url, env->dest, NULL), "queued", 1,
                                                    &id, &job);

        /* No PropertiesChanged of the job came before the reply: its first one is after it. */
        assert_first_state_change (env->fx, from, job, "connecting");
        assert_job_removed (env->fx, id, "acknowledged");
}

/* The same for CreateJob's suspended job: its first PropertiesChanged is AddFile's. */
static void
test_create_job_announced (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL, *job = NULL;
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        g_autoptr(GVariant) props = call_announced (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "announced", NULL),
                                                    "suspended", 0, &id, &job);
        const char *reason = NULL;

        g_assert_true (g_variant_lookup (props, "WaitReason", "&s", &reason));
        g_assert_cmpstr (reason, ==, "suspended");
        /* AddFile's signal carries State (its ModificationTime changed): the first one. */
        xferd_add_file (env->fx, job, env->url, env->dest);
        assert_first_state_change (env->fx, from, job, "suspended");
}

typedef struct {
        BusFixture *fx;
        guint from;             /* signals recorded before the calls */
        guint expected;         /* replies */
        guint replies;
        gboolean all_in;        /* every expected reply came */
        guint job_new_at_first_reply;
        guint unannounced;      /* replies that came before their job's two signals */
        char *jobs[32];         /* the replies' job paths, in the calls' order */
} Pipelined;

/* Which of a new job's two signals (InterfacesAdded 1, JobNew 2) arrived since the calls, for
 * the job at path. (That no PropertiesChanged of it comes before the reply is
 * download-announced's to show: a reply's callback may run after a signal that arrived behind
 * it, such as the WaitReason of the scheduler's pass after the batch.) */
static guint
announced (const Pipelined *p, const char *path)
{
        guint seen = 0;

        for (guint i = p->from; i < p->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (p->fx->signals, i);
                const char *job = NULL;

                if (g_strcmp0 (sig->member, "InterfacesAdded") == 0) {
                        g_variant_get_child (sig->params, 0, "&o", &job);
                        seen |= g_strcmp0 (job, path) == 0 ? 1 : 0;
                } else if (g_strcmp0 (sig->member, "JobNew") == 0) {
                        g_variant_get_child (sig->params, 1, "&o", &job);
                        seen |= g_strcmp0 (job, path) == 0 ? 2 : 0;
                }
        }
        return seen;
}

static void
on_pipelined_reply (GObject *source, GAsyncResult *res, gpointer data)
{
        Pipelined *p = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (p->replies, <, G_N_ELEMENTS (p->jobs));
        g_variant_get (reply, "(&so)", NULL, &p->jobs[p->replies]);
        if (announced (p, p->jobs[p->replies]) != 3)
                p->unannounced++;
        p->all_in = p->replies + 1 == p->expected;
        if (p->replies++ > 0)
                return;
        /* The signals that arrived before this reply (no iteration here: arrival order). */
        for (guint i = p->from; i < p->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (p->fx->signals, i);
                if (g_strcmp0 (sig->member, "JobNew") == 0)
                        p->job_new_at_first_reply++;
        }
}

/* Download calls that arrive together are one batch: one commit, then every job's
 * InterfacesAdded and JobNew, then the replies. xferd is stopped while the calls are queued for
 * it, so that it finds them all at once; its only slot is taken, so none of the new jobs
 * starts (a start writes to the store, which would close the batch early). Once answered,
 * every job of the batch, with its file, survives kill -9. */
/* A new environment whose only transfer slot (MaxBackgroundTransfers 1) a download of env->url
 * holds, stalled after STALL bytes with its last progress checkpoint (a store write) done;
 * *first is its job, *first_id its id if asked. NULL when the test cannot set the limit. */
static XferdEnv *
env_slot_taken (gboolean auto_complete, char **first, char **first_id)
{
        if (geteuid () != 0) {
                g_test_skip ("only root may set MaxBackgroundTransfers");
                return NULL;
        }
        XferdEnv *env = xferd_env_new_serving (NULL, "/file.bin", SIZE);

        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (1));
        http_server_stall_after (env->http, "/file.bin", STALL);
        *first = xferd_download (env->fx, env->url, env->dest, auto_complete, first_id);
        g_assert_true (bus_wait_property (env->fx, *first, XFERD_JOB_IFACE, "BytesTransferred",
                                          g_variant_new_uint64 (STALL), WAIT_TIMEOUT_MS));
        return env;
}

/* n Download calls of env->url (PREFIX-0.bin, …) sent at once while xferd is stopped, so that
 * they wait in its socket together; once xferd goes on, each is answered, after its job's
 * signals. p->jobs holds the jobs, the caller's to free. */
static void
download_pipelined (XferdEnv *env, const char *prefix, guint n, Pipelined *p)
{
        pid_t pid = xferd_process_pid (env->fx);

        g_assert_cmpuint (n, <=, G_N_ELEMENTS (p->jobs));
        g_assert_cmpint (pid, >, 0);
        g_assert_no_errno (kill (pid, SIGSTOP));
        p->from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        p->expected = n;
        for (guint i = 0; i < n; i++) {
                g_autofree char *name = g_strdup_printf ("%s-%u.bin", prefix, i);
                g_autofree char *path = g_build_filename (env->dir, name, NULL);
                g_dbus_connection_call (env->fx->conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                        "Download", g_variant_new ("(ssa{sv})", env->url, path, NULL),
                                        G_VARIANT_TYPE ("(so)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                        on_pipelined_reply, p);
        }
        /* The bus has handed every call to xferd's socket once it answers a later call of ours. */
        bus_driver_round_trip (env->fx->conn);
        g_assert_no_errno (kill (pid, SIGCONT));

        bus_fixture_run_until (env->fx, &p->all_in, WAIT_TIMEOUT_MS);
        g_assert_cmpuint (p->replies, ==, n);
        g_assert_cmpuint (p->unannounced, ==, 0);
}

static void
test_download_batch (void)
{
        g_autofree char *first = NULL;
        g_autoptr(XferdEnv) env = env_slot_taken (FALSE, &first, NULL);
        g_autoptr(GError) error = NULL;
        enum { N = 8 };

        if (!env)
                return;
        Pipelined p = { .fx = env->fx };

        download_pipelined (env, "batch", N, &p);
        g_assert_cmpuint (p.job_new_at_first_reply, ==, N);

        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        for (guint i = 0; i < N; i++) {
                g_autofree char *name = g_strdup_printf ("batch-%u.bin", i);
                g_autofree char *path = g_build_filename (env->dir, name, NULL);
                g_autofree char *state = job_get_string (env->fx, p.jobs[i], "State");
                g_autoptr(GVariant) files = bus_call_job (env->fx, p.jobs[i], "ListFiles", NULL,
                                                         G_VARIANT_TYPE ("(a(sssttb))"), &error);
                g_assert_no_error (error);
                g_autoptr(GVariant) list = g_variant_get_child_value (files, 0);
                g_assert_cmpuint (g_variant_n_children (list), ==, 1);
                const char *url, *local;
                g_variant_get_child (list, 0, "(&s&s&sttb)", &url, &local, NULL, NULL, NULL, NULL);
                g_assert_cmpstr (url, ==, env->url);
                g_assert_cmpstr (local, ==, path);
                g_assert_true (g_str_equal (state, "queued") || g_str_equal (state, "connecting") ||
                               g_str_equal (state, "transferring"));
                g_free (p.jobs[i]);
        }
}

/* More Download calls at once than a batch takes (BATCH_MAX_CALLS, 16): the batch closes at
 * its last call, which is answered with the others (in the batch's one write, bus-out.c), and
 * the next calls make the next batch. Every reply comes after its job's InterfacesAdded and
 * JobNew. */
static void
test_download_batch_full (void)
{
        g_autofree char *first = NULL;
        g_autoptr(XferdEnv) env = env_slot_taken (FALSE, &first, NULL);
        enum { N = 16 + 4 };

        if (!env)
                return;
        Pipelined p = { .fx = env->fx };

        download_pipelined (env, "full", N, &p);
        /* The first batch's sixteen were told before its first reply; the others after it. */
        g_assert_cmpuint (p.job_new_at_first_reply, >=, 16);
        g_assert_cmpuint (p.job_new_at_first_reply, <, N);
        for (guint i = 0; i < N; i++)
                g_free (p.jobs[i]);
}

/* A Download queued behind a full slot: what its signals told of WaitReason (its InterfacesAdded,
 * then its PropertiesChanged) comes to what Get says, max-transfers, without a state change. */
static void
test_download_announced_waiting (void)
{
        g_autofree char *first = NULL;
        g_autoptr(XferdEnv) env = env_slot_taken (FALSE, &first, NULL);
        g_autofree char *dest = NULL, *reason = NULL, *id = NULL, *job = NULL;
        const char *told = NULL;

        if (!env)
                return;
        dest = g_build_filename (env->dir, "waiting.bin", NULL);
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        g_autoptr(GVariant) props = call_announced (env->fx, "Download", g_variant_new ("(ssa{sv})", env->url, dest, NULL),
                                                    "queued", 1, &id, &job);

        /* What stays while it waits: as Get says it (BytesTotal unknown, all ones). */
        guint64 bytes_total = 0, bytes = 1;
        g_assert_true (g_variant_lookup (props, "BytesTotal", "t", &bytes_total));
        g_assert_cmpuint (bytes_total, ==, job_get_uint64 (env->fx, job, "BytesTotal"));
        g_assert_true (g_variant_lookup (props, "BytesTransferred", "t", &bytes));
        g_assert_cmpuint (bytes, ==, 0);
        g_assert_true (g_variant_lookup (props, "WaitReason", "&s", &told));
        while (g_strcmp0 (told, "max-transfers") != 0) {
                const RecordedSignal *sig = bus_wait_signal (env->fx, &from, job, "org.freedesktop.DBus.Properties",
                                                             "PropertiesChanged", NULL, NULL, WAIT_TIMEOUT_MS);
                g_autoptr(GVariant) changed = NULL;
                const char *got;

                g_test_message ("WaitReason told: %s", told);
                g_assert_nonnull (sig);
                g_variant_get (sig->params, "(&s@a{sv}@as)", NULL, &changed, NULL);
                if (g_variant_lookup (changed, "WaitReason", "&s", &got))
                        told = got;  /* the signal stays recorded */
                g_assert_false (g_variant_lookup (changed, "State", "&s", NULL));
        }
        reason = job_get_string (env->fx, job, "WaitReason");
        g_assert_cmpstr (reason, ==, "max-transfers");
}

/* sqlite3_exec()'s callback for a count(*): the number into *data. */
static int
read_count (void *data, int n_columns, char **values, char **names)
{
        *(int *) data = n_columns == 1 && values[0] ? atoi (values[0]) : -1;
        return 0;
}

/* Kills xferd, then asserts that its store, as the crash left it (its log included), records
 * q-1.bin and q-2.bin as files with a temporary file. */
static void
kill_assert_recorded (XferdEnv *env)
{
        xferd_process_kill (env->fx);
        g_autofree char *state = xferd_process_state_dir (env->fx);
        g_autofree char *db_path = g_build_filename (state, "xferd.db", NULL);
        sqlite3 *db = NULL;
        int listed = -1;

        g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, "SELECT count(*) FROM files WHERE temp_exists AND name IN "
                                       "('q-1.bin', 'q-2.bin')", read_count, &listed, NULL), ==, SQLITE_OK);
        sqlite3_close (db);
        g_assert_cmpint (listed, ==, 2);
}

/* Starts xferd again after kill_assert_recorded(): the stalled job and q-FROM.bin to
 * q-(TO-1).bin end acknowledged, each file whole, and the directory holds nothing else. */
static void
restart_assert_done (XferdEnv *env, const char *first_id, char **ids, guint from, guint to, GBytes *other)
{
        g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func (g_free);

        xferd_process_start (env->fx);
        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (4));
        assert_job_removed (env->fx, first_id, "acknowledged");
        for (guint i = from; i < to; i++)
                assert_job_removed (env->fx, ids[i], "acknowledged");
        g_ptr_array_add (done, g_strdup ("file.bin"));
        for (guint i = from; i < to; i++)
                g_ptr_array_add (done, g_strdup_printf ("q-%u.bin", i));
        g_ptr_array_add (done, NULL);
        assert_dir_is (env->dir, (const char *const *) done->pdata);
        assert_file_content (env->dest, env->content);
        for (guint i = from; i < to; i++) {
                g_autofree char *path = g_build_filename (env->dir, done->pdata[1 + i - from], NULL);
                assert_file_content (path, other);
        }
}

/* A Download whose owner has few jobs listed is written with its file's write-ahead record,
 * before that file exists: its start makes the file without a commit of its own. Such a job,
 * queued behind a stalled one: a Cancel answers and leaves nothing (there was nothing); after
 * kill -9 the store lists the files of the others, and the next start finds them missing,
 * makes them and downloads them whole; nothing else is left in the directory. */
static void
test_recorded_at_creation (void)
{
        g_autofree char *first = NULL, *first_id = NULL;
        g_autoptr(XferdEnv) env = env_slot_taken (TRUE, &first, &first_id);
        char *jobs[3] = { NULL }, *ids[3] = { NULL };

        if (!env)
                return;
        g_autoptr(GBytes) other = http_server_add_generated (env->http, "/other.bin", 3 * 16384 + 5);
        g_autofree char *other_url = http_server_url (env->http, "/other.bin");
        for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
                g_autofree char *name = g_strdup_printf ("q-%u.bin", i);
                g_autofree char *path = g_build_filename (env->dir, name, NULL);
                jobs[i] = xferd_download (env->fx, other_url, path, TRUE, &ids[i]);
                assert_job_string (env->fx, jobs[i], "State", "queued");
        }

        xferd_job_call (env->fx, jobs[0], "Cancel");
        assert_job_removed (env->fx, ids[0], "cancelled");
        g_autofree char *temp = g_strdup_printf (".file.bin.xferd-%s-0", first_id);
        const char *const while_queued[] = { temp, NULL };
        assert_dir_is (env->dir, while_queued);

        /* The store knew of the files the queued jobs will make before their calls were
         * answered (the store as the crash left it, its log included). */
        kill_assert_recorded (env);

        http_server_release (env->http, "/file.bin");
        restart_assert_done (env, first_id, ids, 1, G_N_ELEMENTS (jobs), other);
        for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
                g_free (jobs[i]);
                g_free (ids[i]);
        }
}

/* Jobs that were not recorded at their creation (CreateJob, AddFile, Resume: no Download
 * batch) are recorded with the start of their owner's job before them: once that job starts,
 * the store knows of the temporary files of the next ones before they are made; a Cancel of one
 * leaves nothing, and after kill -9 the next start downloads each whole with nothing else left. */
static void
test_recorded_with_start (void)
{
        g_autofree char *first = NULL, *first_id = NULL;
        g_autoptr(XferdEnv) env = env_slot_taken (TRUE, &first, &first_id);
        char *jobs[4] = { NULL }, *ids[4] = { NULL };

        if (!env)
                return;
        g_autoptr(GBytes) other = http_server_add_generated (env->http, "/other.bin", SIZE);
        g_autofree char *other_url = http_server_url (env->http, "/other.bin");
        http_server_stall_after (env->http, "/other.bin", STALL);
        for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
                g_autofree char *name = g_strdup_printf ("q-%u.bin", i);
                g_autofree char *path = g_build_filename (env->dir, name, NULL);
                jobs[i] = xferd_create_job (env->fx, name, &ids[i]);
                xferd_add_file (env->fx, jobs[i], other_url, path);
                job_set (env->fx, jobs[i], "AutoComplete", g_variant_new_boolean (TRUE));
                xferd_job_call (env->fx, jobs[i], "Resume");
                assert_job_string (env->fx, jobs[i], "State", "queued");
        }
        /* q-0 starts: q-1, q-2 and q-3 are recorded with it. */
        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (2));
        g_assert_true (bus_wait_property (env->fx, jobs[0], XFERD_JOB_IFACE, "BytesTransferred",
                                          g_variant_new_uint64 (STALL), WAIT_TIMEOUT_MS));
        assert_job_string (env->fx, jobs[1], "State", "queued");
        xferd_job_call (env->fx, jobs[3], "Cancel");
        assert_job_removed (env->fx, ids[3], "cancelled");
        g_autofree char *temp = g_strdup_printf (".file.bin.xferd-%s-0", first_id);
        g_autofree char *temp0 = g_strdup_printf (".q-0.bin.xferd-%s-0", ids[0]);
        const char *const running[] = { temp, temp0, NULL };
        assert_dir_is (env->dir, running);

        kill_assert_recorded (env);

        http_server_release (env->http, "/file.bin");
        http_server_release (env->http, "/other.bin");
        restart_assert_done (env, first_id, ids, 0, 3, other);
        for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
                g_free (jobs[i]);
                g_free (ids[i]);
        }
}

/* The destination directory, kept open from one job's temporary file to the next job's, is
 * let go once xferd has nothing else to do: after two downloads into it, no descriptor of it
 * is left. */
static void
test_directory_let_go (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *dir = realpath (env->dir, NULL);
        g_autofree char *second = g_build_filename (env->dir, "second.bin", NULL);
        g_autofree char *id = NULL, *id2 = NULL;

        g_assert_nonnull (dir);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, TRUE, &id);
        g_autofree char *job2 = xferd_download (env->fx, env->url, second, TRUE, &id2);
        assert_job_removed (env->fx, id, "acknowledged");
        assert_job_removed (env->fx, id2, "acknowledged");
        assert_file_content (second, env->content);

        pid_t pid = xferd_process_pid (env->fx);
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);
        while (xferd_process_holds (pid, dir, FALSE))
                g_assert_true (poll_again (deadline, 10));
}

/* The last value a job's PropertiesChanged gave for each property is what Get answers once the
 * job has stopped changing, and of that type; what is only invalidated comes as a name without
 * a value. The signals of a state change (Suspend) and of a setting (Priority) are checked. */
static void
test_properties_changed_values (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *job = xferd_env_download_stalled (env, STALL, NULL, NULL);
        g_autoptr(GHashTable) last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_variant_unref);
        gboolean suspended = FALSE, header_names_invalidated = FALSE;

        job_wait_state (env->fx, job, "transferring");
        guint from = env->fx->signals->len;
        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        job_set (env->fx, job, "Priority", g_variant_new_string ("low"));
        g_assert_nonnull (bus_wait_signal (env->fx, NULL, job, "org.freedesktop.DBus.Properties",
                                           "PropertiesChanged", match_priority_changed, NULL, WAIT_TIMEOUT_MS));

        for (guint i = from; i < env->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                if (g_strcmp0 (sig->path, job) != 0 || g_strcmp0 (sig->member, "PropertiesChanged") != 0)
                        continue;
                const char *iface, *name;
                g_autoptr(GVariant) changed = NULL;
                g_autofree const char **invalidated = NULL;
                g_variant_get (sig->params, "(&s@a{sv}^a&s)", &iface, &changed, &invalidated);
                g_assert_cmpstr (iface, ==, XFERD_JOB_IFACE);
                const char *state = NULL;
                if (g_variant_lookup (changed, "State", "&s", &state))
                        suspended = g_str_equal (state, "suspended");
                /* Before the job stopped, the counters were still moving. */
                if (!suspended)
                        continue;
                GVariantIter iter;
                GVariant *value;
                g_variant_iter_init (&iter, changed);
                while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
                        g_hash_table_replace (last, g_strdup (name), value);
                for (guint k = 0; invalidated[k]; k++) {
                        g_autoptr(GVariant) also = g_variant_lookup_value (changed, invalidated[k], NULL);
                        g_assert_null (also);
                        if (g_str_equal (invalidated[k], "HttpHeaderNames"))
                                header_names_invalidated = TRUE;
                }
        }

        GHashTableIter iter;
        gpointer name, value;
        g_hash_table_iter_init (&iter, last);
        while (g_hash_table_iter_next (&iter, &name, &value)) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) now = bus_get_property (env->fx, job, XFERD_JOB_IFACE, name, &error);
                g_assert_no_error (error);
                if (!g_variant_equal (value, now)) {
                        g_autofree char *a = g_variant_print (value, TRUE), *b = g_variant_print (now, TRUE);
                        g_error ("%s: PropertiesChanged said %s, Get says %s", (char *) name, a, b);
                }
        }
        /* The state's values (16; ErrorMessage is a name) but the five still zero or empty as the
         * job's first state told them (TransferCompletionTime, ErrorName, ErrorCount, NextRetryTime,
         * BytesFromCache: unchanged, left out), and the settings' (10; HttpHeaderNames and
         * CancelWhenOwnerGone are names). */
        g_assert_cmpuint (g_hash_table_size (last), ==, 21);
        g_assert_true (header_names_invalidated);
}

/* The CPU ticks (user and system) the process has used. */
static guint64
process_ticks (pid_t pid)
{
        g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
        g_autofree char *stat = NULL;
        unsigned long long utime = 0, stime = 0;

        g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
        const char *p = strrchr (stat, ')');
        g_assert_nonnull (p);
        g_assert_cmpint (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime),
                         ==, 2);
        return utime + stime;
}

/* A kept connection's socket stays with its event source while idle (parked): when the server
 * closes it, xferd does not spin on it; the next job to that address finds it dead, and its
 * new connection (a socket that often gets the same number) works. */
static void
test_idle_connection_closed (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autoptr(GError) error = NULL;
        HttpServer *server = http_server_new ();
        guint16 port = http_server_get_port (server);
        g_autoptr(GBytes) content = http_server_add_generated (server, "/other.bin", SIZE);
        g_autofree char *url = http_server_url (server, "/other.bin");
        g_autofree char *first = g_build_filename (env->dir, "first.bin", NULL);
        g_autofree char *second = g_build_filename (env->dir, "second.bin", NULL);
        g_autofree char *id = NULL, *id2 = NULL;

        g_free (xferd_download (env->fx, url, first, TRUE, &id));
        assert_job_removed (env->fx, id, "acknowledged");
        assert_file_content (first, content);
        pid_t pid = xferd_process_pid (env->fx);

        /* The server goes, and with it the connection xferd kept. For a second, xferd has
         * nothing to do: a loop woken again and again by the closed socket takes what a CPU it
         * can get (a third of one on a busy 2-core machine: 33 ticks, against none or one). */
        http_server_free (server);
        guint64 before = process_ticks (pid);
        gint64 deadline = poll_deadline (1000);
        while (poll_again (deadline, 50))
                ;
        guint64 used = process_ticks (pid) - before;
        g_test_message ("xferd used %" G_GUINT64_FORMAT " ticks in a second", used);
        g_assert_cmpuint (used, <, 10);

        server = http_server_new_on_port (port, &error);
        g_assert_no_error (error);
        http_server_add_bytes (server, "/other.bin", content);
        g_free (xferd_download (env->fx, url, second, TRUE, &id2));
        assert_job_removed (env->fx, id2, "acknowledged");
        assert_file_content (second, content);
        http_server_free (server);
}

/* Suspend stops the transfer and keeps the partial data; Resume goes on
 * from where it stopped (a Range request) and the result is byte-exact. */
static void
test_suspend_resume (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);

        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, NULL);
        job_wait_state (env->fx, job, "transferring");
        /* Partial data is private to the owner. */
        assert_file_mode (temp, 0600);

        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        GStatBuf st;
        g_assert_no_errno (g_stat (temp, &st));
        g_assert_cmpint (st.st_size, ==, STALL);
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));

        http_server_release (env->http, "/file.bin");
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 2);
        assert_last_range (env->http, "/file.bin", STALL);

        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (env->dest, env->content);
}

/* Complete replaces an existing destination. */
static void
test_replace_existing (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 4096);
        g_autoptr(GError) error = NULL;

        g_file_set_contents (env->dest, "old content", -1, &error);
        g_assert_no_error (error);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GBytes) old = g_bytes_new_static ("old content", 11);
        assert_file_content (env->dest, old);    /* untouched before Complete */

        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
}

static void
test_empty_file (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *url = NULL, *dest = NULL;
        g_autoptr(GBytes) content = xferd_env_serve_file (env, "empty", 0, &url, &dest);
        g_autofree char *job = xferd_download (env->fx, url, dest, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (dest, content);
        assert_file_mode (dest, 0644);
}

/* The files of a job transfer one after another, in the order added. */
static void
test_two_files (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *url_a = NULL, *dest_a = NULL, *url_b = NULL, *dest_b = NULL;
        g_autoptr(GBytes) a = xferd_env_serve_file (env, "a", SIZE, &url_a, &dest_a);
        g_autoptr(GBytes) b = xferd_env_serve_file (env, "b", 1000, &url_b, &dest_b);
        g_autofree char *job = xferd_create_job (env->fx, "two", NULL);
        g_autoptr(GError) error = NULL;

        /* b is held back: a must finish before b is asked for. */
        http_server_stall_after (env->http, "/a", SIZE / 2);
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFiles",
                                                  g_variant_new_parsed ("([(%s, %s), (%s, %s)],)",
                                                                        url_a, dest_a, url_b, dest_b),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 2);
        xferd_job_call (env->fx, job, "Resume");
        g_assert_true (http_server_wait_stalled (env->http, "/a", 1, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (http_server_request_count (env->http, "/b"), ==, 0);
        http_server_release (env->http, "/a");
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 2);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, SIZE + 1000);

        g_assert_false (xferd_complete (env->fx, job));
        const char *const names[] = { "a", "b", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (dest_a, a);
        assert_file_content (dest_b, b);
}

/* SetHttpHeaders: sent with the requests; only the names are readable. */
static void
test_http_headers (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 100);
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);
        g_autoptr(GError) error = NULL;
        const char *headers[] = { "Authorization: Bearer s3cret", "X-Test: yes", NULL };

        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "SetHttpHeaders",
                                                  g_variant_new ("(^as)", headers),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) names = bus_get_property (env->fx, job, XFERD_JOB_IFACE, "HttpHeaderNames", &error);
        g_assert_no_error (error);
        g_autofree const char **name_list = g_variant_get_strv (names, NULL);
        g_assert_cmpuint (g_strv_length ((GStrv) name_list), ==, 2);
        g_assert_cmpstr (name_list[0], ==, "Authorization");
        g_assert_cmpstr (name_list[1], ==, "X-Test");

        xferd_add_file (env->fx, job, env->url, env->dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_autofree char *auth = http_server_last_header (env->http, "/file.bin", "Authorization");
        g_autofree char *test = http_server_last_header (env->http, "/file.bin", "X-Test");
        g_assert_cmpstr (auth, ==, "Bearer s3cret");
        g_assert_cmpstr (test, ==, "yes");
        xferd_complete (env->fx, job);
        assert_file_content (env->dest, env->content);
}

/* The proxy of the environment (http_proxy, as for curl) carries the request: the origin's
 * name is never resolved (.invalid cannot be), the proxy gets the absolute URL with the
 * origin's Host, and the job's headers go along (they are meant for that origin). The test
 * server plays the proxy and answers from its own content. */
static void
test_through_proxy (void)
{
        g_autoptr(HttpServer) proxy = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (proxy, "/file.bin", SIZE);
        g_autofree char *proxy_url = http_server_url (proxy, "");
        static const char *const names[] = { "http_proxy", "no_proxy", "NO_PROXY" };
        char *saved[G_N_ELEMENTS (names)];

        /* xferd is started by the fixture's dbus-daemon, which keeps this environment. */
        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                saved[i] = g_strdup (g_getenv (names[i]));
                g_unsetenv (names[i]);
        }
        g_setenv ("http_proxy", proxy_url, TRUE);
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                if (saved[i])
                        g_setenv (names[i], saved[i], TRUE);
                else
                        g_unsetenv (names[i]);
                g_free (saved[i]);
        }

        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest = g_build_filename (dir, "file.bin", NULL);
        g_autofree char *job = xferd_create_job (fx, "proxied", NULL);
        const char *headers[] = { "X-Test: via-proxy", NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (fx, job, "SetHttpHeaders", g_variant_new ("(^as)", headers),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        xferd_add_file (fx, job, "http://origin.invalid/file.bin", dest);
        xferd_job_call (fx, job, "Resume");
        job_wait_state (fx, job, "transferred");

        g_assert_cmpuint (http_server_request_count (proxy, "/file.bin"), ==, 1);
        g_autofree char *host = http_server_last_header (proxy, "/file.bin", "Host");
        g_assert_cmpstr (host, ==, "origin.invalid");
        g_autofree char *test = http_server_last_header (proxy, "/file.bin", "X-Test");
        g_assert_cmpstr (test, ==, "via-proxy");
        g_assert_false (xferd_complete (fx, job));
        assert_file_content (dest, content);
}

/* AddFile on a transferred job: new work, back to suspended; Resume again. */
static void
test_add_file_when_transferred (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *url_a = NULL, *dest_a = NULL, *url_b = NULL, *dest_b = NULL;
        g_autoptr(GBytes) a = xferd_env_serve_file (env, "a", 5000, &url_a, &dest_a);
        g_autoptr(GBytes) b = xferd_env_serve_file (env, "b", 7000, &url_b, &dest_b);
        g_autofree char *job = xferd_download (env->fx, url_a, dest_a, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        xferd_add_file (env->fx, job, url_b, dest_b);
        assert_job_string (env->fx, job, "State", "suspended");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        /* The finished file is not fetched again. */
        g_assert_cmpuint (http_server_request_count (env->http, "/a"), ==, 1);
        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (dest_a, a);
        assert_file_content (dest_b, b);
}

/* A new job's properties: the contract's defaults. */
static void
test_new_job_properties (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (fx, "fresh", &id);
        g_autofree char *pid = job_get_string (fx, job, "Id");
        g_autofree char *type = job_get_string (fx, job, "Type");
        g_autofree char *name = job_get_string (fx, job, "DisplayName");
        g_autofree char *state = job_get_string (fx, job, "State");
        g_autofree char *priority = job_get_string (fx, job, "Priority");
        g_autofree char *error_name = job_get_string (fx, job, "ErrorName");

        g_assert_cmpuint (strlen (id), ==, 32);
        g_assert_cmpuint (strspn (id, "0123456789abcdef"), ==, 32);
        g_assert_cmpstr (pid, ==, id);
        g_assert_cmpstr (type, ==, "download");
        g_assert_cmpstr (name, ==, "fresh");
        g_assert_cmpstr (state, ==, "suspended");
        g_assert_cmpstr (priority, ==, "normal");
        g_assert_cmpstr (error_name, ==, "");
        g_assert_cmpuint (job_get_uint32 (fx, job, "Owner"), ==, getuid ());
        g_assert_false (job_get_boolean (fx, job, "AllowInsecureRedirect"));
        g_assert_cmpuint (job_get_uint64 (fx, job, "BandwidthLimit"), ==, 0);
        g_assert_cmpuint (job_get_uint64 (fx, job, "BytesTotal"), ==, 0);
        g_assert_cmpuint (job_get_uint64 (fx, job, "BytesTransferred"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTotal"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "ErrorCount"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "MinimumRetryDelay"), ==, 600);
        g_assert_cmpuint (job_get_uint32 (fx, job, "NoProgressTimeout"), ==, 1209600);
        g_assert_cmpuint (job_get_uint64 (fx, job, "TransferCompletionTime"), ==, 0);
        guint64 created = job_get_uint64 (fx, job, "CreationTime");
        g_assert_cmpuint (created, >, (guint64) g_get_real_time () - 60 * G_USEC_PER_SEC);
        g_assert_cmpuint (created, <=, (guint64) g_get_real_time ());

        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, "GetJob", g_variant_new ("(s)", id),
                                                      G_VARIANT_TYPE ("(o)"), &error);
        g_assert_no_error (error);
        const char *got;
        g_variant_get (reply, "(&o)", &got);
        g_assert_cmpstr (got, ==, job);
        g_assert_true (xferd_lists_job (fx, id));
}

/* A caller that keeps the bus busy must not stop other callers' transfers: calls run at a
 * priority above curl's work, so a bus that always had a message waiting would starve every
 * transfer. 1024 GetAll calls stay in flight on a connection of their own for the whole
 * download (each reply sends the next); the download still ends. */
typedef struct Flood {
        GDBusConnection *conn;
        guint in_flight;
        guint answered;
        gboolean stop;
} Flood;

static void flood_send (Flood *flood);

static void
flood_on_reply (GObject *source, GAsyncResult *res, gpointer data)
{
        Flood *flood = data;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, NULL);

        flood->in_flight--;
        flood->answered++;
        if (!flood->stop)
                flood_send (flood);
}

static void
flood_send (Flood *flood)
{
        flood->in_flight++;
        g_dbus_connection_call (flood->conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                "GetAll", g_variant_new ("(s)", XFERD_MANAGER_IFACE), NULL,
                                G_DBUS_CALL_FLAGS_NONE, -1, NULL, flood_on_reply, flood);
}

static void
test_busy_bus (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 2 * 1024 * 1024);
        Flood flood = { 0 };

        /* Half a second of transfer, so that the flood's replies come while the test waits. */
        http_server_set_rate (env->http, "/file.bin", 4 * 1024 * 1024);

        flood.conn = bus_connect (env->fx->address);
        g_autofree char *job = xferd_create_job (env->fx, "beside a busy bus", NULL);
        for (guint i = 0; i < 1024; i++)
                flood_send (&flood);
        /* The flood is under way before the transfer starts. */
        while (flood.answered < 256)
                g_main_context_iteration (env->fx->ctx, TRUE);

        xferd_add_file (env->fx, job, env->url, env->dest);
        xferd_job_call (env->fx, job, "Resume");
        guint before = flood.answered;
        job_wait_state (env->fx, job, "transferred");
        /* The flood went on meanwhile: its replies came while the test waited. */
        g_assert_cmpuint (flood.answered, >, before);

        flood.stop = TRUE;
        while (flood.in_flight > 0)
                g_main_context_iteration (env->fx->ctx, TRUE);
        g_object_unref (flood.conn);
}

/* Download's options, and its default display name (the file's base name). */
static void
test_download_options (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 100);
        g_autoptr(GError) error = NULL;

        /* Stay away from the network: the point is the properties. */
        http_server_hang (env->http, "/file.bin", HTTP_SERVER_FOREVER);
        g_autofree char *plain = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        assert_job_string (env->fx, plain, "DisplayName", "file.bin");
        g_assert_false (job_get_boolean (env->fx, plain, "AutoComplete"));

        g_autofree char *dest2 = xferd_env_path (env, "other.bin");
        g_autoptr(GVariant) reply = bus_call_manager (
                env->fx, "Download",
                g_variant_new_parsed ("(%s, %s, {'display-name': <'My file'>, 'priority': <'low'>,"
                                      " 'description': <'why'>, 'auto-complete': <true>})",
                                      env->url, dest2),
                G_VARIANT_TYPE ("(so)"), &error);
        g_assert_no_error (error);
        const char *job;
        g_variant_get (reply, "(&s&o)", NULL, &job);
        assert_job_string (env->fx, job, "DisplayName", "My file");
        assert_job_string (env->fx, job, "Priority", "low");
        assert_job_string (env->fx, job, "Description", "why");
        g_assert_true (job_get_boolean (env->fx, job, "AutoComplete"));
}

/* Pages of path in the page cache. */
static gsize
resident_bytes (const char *path)
{
        long page = sysconf (_SC_PAGESIZE);
        struct stat st;
        gsize n = 0;
        int fd = open (path, O_RDONLY | O_CLOEXEC);

        g_assert_cmpint (fd, >=, 0);
        g_assert_cmpint (fstat (fd, &st), ==, 0);
        void *map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        g_assert_true (map != MAP_FAILED);
        gsize pages = ((gsize) st.st_size + (gsize) page - 1) / (gsize) page;
        g_autofree unsigned char *vec = g_malloc (pages);
        g_assert_cmpint (mincore (map, (size_t) st.st_size, vec), ==, 0);
        for (gsize i = 0; i < pages; i++)
                n += vec[i] & 1;
        munmap (map, (size_t) st.st_size);
        close (fd);
        return n * (gsize) page;
}

/* A large download leaves little of itself in the page cache: the early writeback waits for
 * what the one before it started and drops it, so a background download does not evict the
 * user's working set (without that all 64 MiB stay). */
static void
test_page_cache (void)
{
        gsize size = 64u * 1024u * 1024u + 5;
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", size);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);

        job_wait_state (env->fx, job, "transferred");
        g_assert_false (xferd_complete (env->fx, job));
        /* The last chunks (8 MiB each) may stay, and whatever was not written back in time;
         * before the check of its bytes, which reads them. */
        g_assert_cmpuint (resident_bytes (env->dest), <, size / 2);
        assert_dest_complete (env);
}

const TestCase test_cases[] = {
        { "/download/auto-complete", test_auto_complete },
        { "/download/manual-complete", test_manual_complete },
        { "/download/page-cache", test_page_cache },
        { "/download/state-signals", test_state_signals },
        { "/download/idle-connection-closed", test_idle_connection_closed },
        { "/download/one-signal-per-call", test_one_signal_per_call },
        { "/download/download-one-step", test_download_one_step },
        { "/download/download-announced", test_download_announced },
        { "/download/create-job-announced", test_create_job_announced },
        { "/download/download-batch", test_download_batch },
        { "/download/download-batch-full", test_download_batch_full },
        { "/download/download-announced-waiting", test_download_announced_waiting },
        { "/download/recorded-at-creation", test_recorded_at_creation },
        { "/download/recorded-with-start", test_recorded_with_start },
        { "/download/directory-let-go", test_directory_let_go },
        { "/download/properties-changed-values", test_properties_changed_values },
        { "/download/suspend-resume", test_suspend_resume },
        { "/download/replace-existing", test_replace_existing },
        { "/download/empty-file", test_empty_file },
        { "/download/two-files", test_two_files },
        { "/download/http-headers", test_http_headers },
        { "/download/through-proxy", test_through_proxy },
        { "/download/add-file-when-transferred", test_add_file_when_transferred },
        { "/download/new-job-properties", test_new_job_properties },
        { "/download/options", test_download_options },
        { "/download/busy-bus", test_busy_bus },
        { NULL, NULL }
};
