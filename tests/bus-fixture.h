/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus fixture of the integration tests: a private dbus-daemon whose
 * service directory starts the real xferd ($XFERD_BINARY) by D-Bus activation
 * on the first call, a GDBus connection to it that records every signal, and
 * helpers to call, read properties and wait for states and signals with
 * timeouts.
 *
 * Waiting never sleeps: it iterates the fixture's GMainContext until a
 * recorded signal makes the condition true or the deadline passes. The only
 * polling wait is for file sizes (the daemon announces no file events).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define XFERD_BUS_NAME       "org.xferd.Transfer1"
#define XFERD_MANAGER_PATH   "/org/xferd/Transfer1"
#define XFERD_MANAGER_IFACE  "org.xferd.Transfer1.Manager"
#define XFERD_JOB_IFACE      "org.xferd.Transfer1.Job"
#define XFERD_JOB_PATH_PREFIX "/org/xferd/Transfer1/job/"
#define XFERD_ERROR(name)    "org.xferd.Transfer1.Error." name
#define DBUS_ERROR_INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

/* Default time a wait may take; generous, a passing test never waits this. */
#define WAIT_TIMEOUT_MS 20000

typedef struct {
        guint idle_timeout;          /* --idle-timeout; 0 = never exit when idle */
        guint retention;             /* --retention; 0 = the daemon's default */
        guint retry_delay_floor;     /* --retry-delay-floor; 0 means 1 */
        const char *const *extra_args;
} BusFixtureOptions;

typedef struct {
        char *sender;
        char *path;
        char *iface;
        char *member;
        GVariant *params;
} RecordedSignal;

typedef struct {
        char *tmpdir;
        char *address;
        GSubprocess *dbus_daemon;
        GDBusConnection *conn;
        GMainContext *ctx;
        GPtrArray *signals;          /* RecordedSignal, in arrival order */
        guint subscription;
        GPtrArray *xferd_pids;       /* GUINT_TO_POINTER, every xferd seen */
        guint name_lost_seen;        /* signals index past the last loss waited for */
} BusFixture;

BusFixture *bus_fixture_new (const BusFixtureOptions *options);
void bus_fixture_free (BusFixture *fx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BusFixture, bus_fixture_free)

/* A new empty directory inside the fixture's temporary directory. */
char *bus_fixture_mkdir (BusFixture *fx, const char *name);

/* Runs argv (argv[0] a path) with DBUS_SESSION_BUS_ADDRESS set to the
 * private bus; returns the exit status as from g_subprocess_get_status-like
 * decoding: exit code, or 128 + signal. stdout/stderr returned if asked. */
int bus_fixture_run (BusFixture *fx, const char *const *argv,
                     char **out_stdout, char **out_stderr);
/* Starts argv like bus_fixture_run() without waiting; stdout and stderr are
 * piped. */
GSubprocess *bus_fixture_spawn (BusFixture *fx, const char *const *argv);

/* Remembers the pid of the current xferd so teardown can check that it ends.
 * Returns it, or 0 when xferd is not running. */
guint32 bus_fixture_note_xferd (BusFixture *fx);
/* Waits for the next time the bus name loses its owner (xferd exited);
 * FALSE on timeout. */
gboolean bus_fixture_wait_xferd_gone (BusFixture *fx, guint timeout_ms);

/* --------------------------------------------------------------- calls */

GVariant *bus_call (BusFixture *fx, const char *path, const char *iface,
                    const char *method, GVariant *params,
                    const GVariantType *reply_type, GError **error);
GVariant *bus_call_manager (BusFixture *fx, const char *method, GVariant *params,
                            const GVariantType *reply_type, GError **error);
GVariant *bus_call_job (BusFixture *fx, const char *job, const char *method,
                        GVariant *params, const GVariantType *reply_type, GError **error);
GVariant *bus_get_property (BusFixture *fx, const char *path, const char *iface,
                            const char *name, GError **error);
gboolean bus_set_property (BusFixture *fx, const char *path, const char *iface,
                           const char *name, GVariant *value, GError **error);

/* Asserting property getters for job objects. */
char *job_get_string (BusFixture *fx, const char *job, const char *name);
guint64 job_get_uint64 (BusFixture *fx, const char *job, const char *name);
guint32 job_get_uint32 (BusFixture *fx, const char *job, const char *name);
gboolean job_get_boolean (BusFixture *fx, const char *job, const char *name);
void job_set (BusFixture *fx, const char *job, const char *name, GVariant *value);

/* Asserts that error is the D-Bus error `name`. */
#define bus_assert_error(error, name) G_STMT_START {                          \
        g_assert_nonnull (error);                                             \
        g_autofree char *remote__ = g_dbus_error_get_remote_error (error);    \
        if (g_strcmp0 (remote__, (name)) != 0)                                \
                g_test_message ("error message: %s", (error)->message);      \
        g_assert_cmpstr (remote__, ==, (name));                               \
} G_STMT_END

/* -------------------------------------------------------------- waiting */

typedef gboolean (*SignalMatch) (const RecordedSignal *sig, gpointer data);

/* Returns the first recorded signal at index >= *from that matches (path,
 * iface, member may be NULL for any; match may be NULL), waiting for it up to
 * timeout_ms; NULL on timeout. *from (if given) is set past the match. */
const RecordedSignal *bus_wait_signal (BusFixture *fx, guint *from, const char *path,
                                       const char *iface, const char *member,
                                       SignalMatch match, gpointer data, guint timeout_ms);
/* Number of matching signals recorded so far (no waiting). */
guint bus_count_signals (BusFixture *fx, const char *path, const char *iface,
                         const char *member, SignalMatch match, gpointer data);

/* Waits until the property equals value (floating references are sunk),
 * re-reading it each time a PropertiesChanged arrives for path. */
gboolean bus_wait_property (BusFixture *fx, const char *path, const char *iface,
                            const char *name, GVariant *value, guint timeout_ms);

/* Waits until the job's State is `state` and returns the State it ended
 * with (the caller asserts, see job_wait_state). Gives up at once when the
 * job reaches a state it cannot leave without a call (final states, error);
 * logs ErrorName/ErrorMessage when the state is not the one wanted. */
char *job_wait_state_get (BusFixture *fx, const char *job, const char *state);
#define job_wait_state(fx, job, state) G_STMT_START {                          \
        g_autofree char *reached__ = job_wait_state_get ((fx), (job), (state)); \
        g_assert_cmpstr (reached__, ==, (state));                               \
} G_STMT_END

/* State values carried by PropertiesChanged signals for job, in order. */
GPtrArray *job_state_history (BusFixture *fx, const char *job);

/* Polls (10 ms) until the file has at least size bytes. */
gboolean wait_file_size (const char *path, goffset size, guint timeout_ms);
/* Sorted names in dir (without . and ..). */
GStrv list_dir (const char *dir);
/* The sorted names in dir joined with ", ". */
char *dir_listing (const char *dir);
/* Whether path is a regular file (not a symlink) with this permission mode;
 * logs the difference if not. */
gboolean file_mode_is (const char *path, guint mode);
/* Whether path holds exactly content; logs the difference if not. */
gboolean file_has_content (const char *path, GBytes *content);

/* These are macros so that a failure names the line of the test. */
/* Asserts that dir holds exactly the given names (NULL-terminated, sorted). */
#define assert_dir_is(dir, names) G_STMT_START {                               \
        g_autofree char *found__ = dir_listing (dir);                           \
        g_autofree char *wanted__ = g_strjoinv (", ", (GStrv) (names));         \
        g_assert_cmpstr (found__, ==, wanted__);                                \
} G_STMT_END
#define assert_file_mode(path, mode) g_assert_true (file_mode_is ((path), (mode)))
#define assert_file_content(path, content) g_assert_true (file_has_content ((path), (content)))

/* --------------------------------------------------------- job helpers */

/* Manager.Download; returns the job path, *id if asked. */
char *xferd_download (BusFixture *fx, const char *url, const char *local_path,
                      gboolean auto_complete, char **id);
/* Manager.CreateJob with no options. */
char *xferd_create_job (BusFixture *fx, const char *name, char **id);
void xferd_add_file (BusFixture *fx, const char *job, const char *url, const char *local_path);
void xferd_job_call (BusFixture *fx, const char *job, const char *method);
/* Complete(); returns partial. */
gboolean xferd_complete (BusFixture *fx, const char *job);
/* ListFiles()[index] temporary path (transfer full). */
char *xferd_temp_path (BusFixture *fx, const char *job, guint index);
/* Whether ListJobs(false) lists id. */
gboolean xferd_lists_job (BusFixture *fx, const char *id);
/* Waits for Manager.JobRemoved of id; returns its final_state. */
char *xferd_wait_job_removed (BusFixture *fx, const char *id);
/* SignalMatch for Manager.JobNew of the id in data. */
gboolean xferd_match_job_new (const RecordedSignal *sig, gpointer data);
/* Asserts GetJob(id) fails with NoSuchJob. */
void xferd_assert_no_such_job (BusFixture *fx, const char *id);
/* Id from a job path. */
const char *xferd_job_id (const char *job);

G_END_DECLS
