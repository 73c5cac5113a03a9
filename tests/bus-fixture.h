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

#include <sys/types.h>

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
        /* A bus configured like the system bus: <type>system</type>, the
         * system bus's default policy plus data/org.xferd.Transfer1.conf (only
         * root may own the name, everyone may call it), any user may connect
         * (the socket's directory is 0755). xferd is activated as root with
         * --system, its stderr kept for bus_fixture_xferd_log(), and its state
         * directory not made beforehand (xferd creates it). Needs root; the
         * other users act through bus_client_new(). */
        gboolean system_bus;
        /* Contents of an xferd.conf given to xferd with --config=; NULL for
         * none (on the system bus an empty one, so that the machine's
         * /etc/xferd/xferd.conf never counts). */
        const char *config;
        /* System bus: more <policy> elements for the bus configuration, e.g. to let a mock
         * service own its name (polkit's, NetworkManager's) as its own policy file would. */
        const char *extra_bus_policy;
        /* Session bus: where xferd and the other children find "the system
         * bus" (a second fixture's address); NULL: nowhere, so that nothing
         * reaches the machine's real one by mistake. */
        const char *system_bus_address;
        /* "NAME=VALUE" strings in xferd's environment (on the system bus, where
         * UpdateActivationEnvironment is not allowed): test hooks. */
        const char *const *xferd_env;
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
        char *exits_dir;             /* how each xferd ended, as xferd-test-exec records it */
        GPtrArray *xferd_taken;      /* GUINT_TO_POINTER, ends the test judged itself */
        guint name_lost_seen;        /* signals index past the last loss waited for */
        gboolean system_bus;         /* see BusFixtureOptions */
        char *state_dir;             /* xferd's --state-dir */
        char *xferd_log;             /* system bus: where xferd's stderr goes */
        char *client_binary;         /* system bus: the copy of xferd-test-client users run */
        char *system_bus_address;    /* session bus: BusFixtureOptions.system_bus_address */
} BusFixture;

BusFixture *bus_fixture_new (const BusFixtureOptions *options);
/* TRUE when the bus is dbus-broker (a session-type bus with XFERD_TEST_BUS=broker), where what
 * the bus itself says differs: a failed activation is NameHasNoOwner, not Spawn.ChildExited. */
gboolean bus_fixture_on_broker (const BusFixture *fx);
/* The configuration of a session-type bus at socket_path that activates from services_dir
 * and lets anyone talk to and own anything: the tests check xferd, not bus policy. */
char *bus_session_config (const char *socket_path, const char *services_dir);
/* Starts a bus daemon, argv (which has it print its address on fd 3: --print-address=3), with
 * launcher, whose fds it takes and closes (its stdout goes to the test's stderr), and waits
 * until it printed its address: *address (the test ends with an error when it exited first). */
GSubprocess *bus_daemon_spawn (GSubprocessLauncher *launcher, const char *const *argv, char **address);
void bus_fixture_free (BusFixture *fx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BusFixture, bus_fixture_free)

/* $XFERD_BINARY, the build's xferd (meson test sets it); the test ends with an error when it is
 * not set or not an executable. */
const char *xferd_binary (void);

/* A new connection to the bus at address (asserted): the fixture's (fx->address), as a caller
 * of the test's own user that xferd has not seen yet. */
GDBusConnection *bus_connect (const char *address);
/* Once the bus driver answered a call of conn (GetId, asserted within WAIT_TIMEOUT_MS), the bus
 * has passed on every call conn sent before it. */
void bus_driver_round_trip (GDBusConnection *conn);
/* ListJobs(false) from conn, asserted answered within WAIT_TIMEOUT_MS: xferd serves that caller. */
void bus_list_jobs_answered (GDBusConnection *conn);

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

/* A launcher with the environment bus_fixture_spawn() gives its children (the private
 * bus, XDG directories of the fixture), for a child that needs more set up, e.g. a
 * terminal (pty-process.h). */
GSubprocessLauncher *bus_fixture_launcher (BusFixture *fx, GSubprocessFlags flags);
/* Runs argv like bus_fixture_run(), as user (runuser -u user --). */
int bus_fixture_run_as (BusFixture *fx, const char *user, const char *const *argv,
                        char **out_stdout, char **out_stderr);
/* System bus: what xferd wrote to stderr (its log) so far. */
char *bus_fixture_xferd_log (BusFixture *fx);
/* The log once it holds needle (it reaches the file through a pipe and tee, so a line
 * xferd wrote before a reply may arrive after it), or NULL after timeout_ms. Every line
 * xferd wrote before that one is in it too. */
char *bus_fixture_wait_xferd_log (BusFixture *fx, const char *needle, guint timeout_ms);

/* Remembers the pid of the current xferd so teardown can check that it ends.
 * Returns it, or 0 when xferd is not running. */
guint32 bus_fixture_note_xferd (BusFixture *fx);

/* How an xferd ends: the bus activates xferd through xferd-test-exec ($XFERD_TEST_EXEC), which
 * runs it as its child and records its end in fx->exits_dir, whoever reaps the wrapper (see
 * xferd-exec-main.c). Teardown waits for every xferd the bus started and fails the test,
 * naming the pid and the status or signal, when one ended other than with exit status 0 (a
 * failed assertion, a sanitizer's report, a crash, a lost bus), unless the test took that end
 * (see bus_fixture_take_xferd_end()). */
/* Waits up to timeout_ms until xferd pid has ended (it was the bus's: the wrapper recorded it);
 * FALSE when it has not. Teardown still judges how it ended. */
gboolean bus_fixture_wait_xferd_end (BusFixture *fx, pid_t pid, guint timeout_ms);
/* The same, and the test judges the end: *status as waitpid() gives it (WIFEXITED() …), and
 * teardown no longer counts it; for an xferd the test kills, or that is to fail. */
gboolean bus_fixture_take_xferd_end (BusFixture *fx, pid_t pid, int *status, guint timeout_ms);
/* Waits up to timeout_ms for an xferd that ended other than with exit status 0 and whose end no
 * one took yet, takes its end into *status and returns its pid; 0 when none did. For an xferd
 * that is to fail before the test learns its pid (one that cannot start). */
pid_t bus_fixture_take_xferd_failure (BusFixture *fx, int *status, guint timeout_ms);
/* How many failures the teardowns of this process found (each also failed its test), for a
 * program that is no GLib test (xferd-test-sysbus). */
guint bus_fixture_teardown_failures (void);
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
/* A call of the bus driver (org.freedesktop.DBus: ListNames, GetNameOwner, …). */
GVariant *bus_driver_call (BusFixture *fx, const char *method, GVariant *params,
                           const GVariantType *reply_type, GError **error);
GVariant *bus_get_property (BusFixture *fx, const char *path, const char *iface,
                            const char *name, GError **error);
gboolean bus_set_property (BusFixture *fx, const char *path, const char *iface,
                           const char *name, GVariant *value, GError **error);

/* The outcome of a call made without waiting, filled when its reply arrives while the
 * fixture's context runs: bus_fixture_run_until (fx, &r.done, …). */
typedef struct {
        gboolean done;
        GVariant *reply;        /* NULL when the call failed: error */
        GError *error;
        gint64 when;            /* monotonic µs when the reply arrived */
} BusAsyncReply;

/* Calls method of org.xferd.Transfer1 on conn (fx->conn, or another connection to the
 * fixture's bus) without waiting; *r is reset now and filled by the reply, in the fixture's
 * context. The call may wait up to 60 s, longer than any of the test's own waits. */
void bus_call_async (BusFixture *fx, GDBusConnection *conn, const char *path, const char *iface,
                     const char *method, GVariant *params, const GVariantType *reply_type, BusAsyncReply *r);
/* Fills *r from the result of g_dbus_connection_call() (source, result), for a callback of
 * a test's own that notes more. */
void bus_async_reply_take (BusAsyncReply *r, GObject *source, GAsyncResult *result);
/* Frees r's reply and error. */
void bus_async_reply_clear (BusAsyncReply *r);

/* Asserting property getters for job objects. */
char *job_get_string (BusFixture *fx, const char *job, const char *name);
guint64 job_get_uint64 (BusFixture *fx, const char *job, const char *name);
guint32 job_get_uint32 (BusFixture *fx, const char *job, const char *name);
gboolean job_get_boolean (BusFixture *fx, const char *job, const char *name);
void job_set (BusFixture *fx, const char *job, const char *name, GVariant *value);
/* The same for a property of the Manager (its writable ones need root or an administrator). */
void manager_set (BusFixture *fx, const char *name, GVariant *value);

/* A test that needs what this machine lacks: with CI=true it fails (CI provides every peer
 * through scripts/setup-deps.sh and scripts/test.sh), elsewhere it skips. Returns TRUE when
 * missing is NULL, that is when nothing lacks. */
gboolean test_needs (const char *missing);
/* test_needs() of the multi-user tests: root, and the users xferd-test-a and xferd-test-b. */
gboolean test_needs_root_and_users (void);

/* Asserts that error is the D-Bus error `name`. */
#define bus_assert_error(error, name) G_STMT_START {                          \
        g_assert_nonnull (error);                                             \
        g_autofree char *remote__ = g_dbus_error_get_remote_error (error);    \
        if (g_strcmp0 (remote__, (name)) != 0)                                \
                g_test_message ("error message: %s", (error)->message);      \
        g_assert_cmpstr (remote__, ==, (name));                               \
} G_STMT_END

/* ------------------------------------------------ clients as other users */

/* On a system-bus fixture, a connection of another user: the test program
 * xferd-test-client ($XFERD_TEST_CLIENT) run with runuser as that user, which
 * makes the calls it is given and hands back their replies, D-Bus error names
 * included (see xferd-test-client.c). Calls go to org.xferd.Transfer1 unless
 * said otherwise. */
typedef struct BusClient BusClient;

BusClient *bus_client_new (BusFixture *fx, const char *user);
/* The same with setpriv instead: the process (and so its bus connection) has exactly the
 * primary group gid and the supplementary groups in groups ("27,4242", "" for none), not the
 * user database's. */
BusClient *bus_client_new_with_groups (BusFixture *fx, const char *user, const char *gid, const char *groups);
/* SIGKILLs the client (as a crash would end it) and waits until it is gone. NULL as the user
 * of bus_client_new() runs the client as the test's own user, without runuser. */
void bus_client_kill (BusClient *client);
void bus_client_free (BusClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BusClient, bus_client_free)
/* The uid and unique bus name the client connected with. */
guint32 bus_client_uid (BusClient *client);
const char *bus_client_unique_name (BusClient *client);

/* Like bus_call(): the reply, or NULL and an error from which
 * g_dbus_error_get_remote_error() (and so bus_assert_error) gets the name. */
GVariant *bus_client_call (BusClient *client, const char *path, const char *iface,
                           const char *method, GVariant *params,
                           const GVariantType *reply_type, GError **error);
/* The same to another destination (the bus driver, say). */
GVariant *bus_client_call_to (BusClient *client, const char *destination, const char *path,
                              const char *iface, const char *method, GVariant *params,
                              const GVariantType *reply_type, GError **error);
GVariant *bus_client_call_manager (BusClient *client, const char *method, GVariant *params,
                                   const GVariantType *reply_type, GError **error);
GVariant *bus_client_call_job (BusClient *client, const char *job, const char *method,
                               GVariant *params, const GVariantType *reply_type, GError **error);
GVariant *bus_client_get_property (BusClient *client, const char *path, const char *iface,
                                   const char *name, GError **error);
gboolean bus_client_set_property (BusClient *client, const char *path, const char *iface,
                                  const char *name, GVariant *value, GError **error);
/* Asserting helpers, as the xferd_* job helpers below. */
char *bus_client_create_job (BusClient *client, const char *name, char **id);
/* A Manager call of client's that makes a job (Download, CreateJob with options): the job's
 * path, its id in *id if asked. */
char *bus_client_make_job (BusClient *client, const char *method, GVariant *params, char **id);
void bus_client_add_file (BusClient *client, const char *job, const char *url, const char *local_path);
void bus_client_job_call (BusClient *client, const char *job, const char *method);
char *bus_client_temp_path (BusClient *client, const char *job, guint index);
gboolean bus_client_lists_job (BusClient *client, const char *id);

/* From now on the client records every signal its connection receives (a
 * plain match rule, as any user may add; no eavesdropping). Returns once the
 * bus has the rule. */
void bus_client_subscribe (BusClient *client);
/* The signals recorded so far, a(ssssv): sender, path, interface, member,
 * parameters; including everything xferd sent before this call. */
GVariant *bus_client_signals (BusClient *client);

/* -------------------------------------------------------------- waiting */

typedef gboolean (*SignalMatch) (const RecordedSignal *sig, gpointer data);

/* Runs the fixture's main context until *done is TRUE (set by a callback that runs there: an
 * asynchronous reply, a line read) or timeout_ms pass; returns *done. */
gboolean bus_fixture_run_until (BusFixture *fx, const gboolean *done, guint timeout_ms);
/* Runs it for ms, whatever happens meanwhile. */
void bus_fixture_run_for (BusFixture *fx, guint ms);

/* Returns the first recorded signal at index >= *from that matches (path,
 * iface, member may be NULL for any; match may be NULL), waiting for it up to
 * timeout_ms; NULL on timeout. *from (if given) is set past the match. */
const RecordedSignal *bus_wait_signal (BusFixture *fx, guint *from, const char *path,
                                       const char *iface, const char *member,
                                       SignalMatch match, gpointer data, guint timeout_ms);
/* Waits like bus_wait_signal() for the bus's NameOwnerChanged telling that name (a
 * well-known or a unique name) has an owner (owned) or none any more; FALSE on timeout. */
gboolean bus_wait_name_owner (BusFixture *fx, guint *from, const char *name, gboolean owned, guint timeout_ms);
/* bus_wait_name_owner (fx, from, name, FALSE, timeout_ms). */
gboolean bus_wait_name_lost (BusFixture *fx, guint *from, const char *name, guint timeout_ms);
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

/* Waits for a PropertiesChanged of job that carries the uint64 property name with a value
 * from min to max (a change announced, not only made); FALSE after timeout_ms. */
gboolean job_wait_changed_uint64 (BusFixture *fx, const char *job, const char *name, guint64 min, guint64 max,
                                  guint timeout_ms);

/* Asserts that the job's ErrorName is XFERD_ERROR (short_name) and, unless in_message is NULL,
 * that its ErrorMessage contains in_message; logs both. */
void job_assert_error (BusFixture *fx, const char *job, const char *short_name, const char *in_message);

/* State values carried by PropertiesChanged signals for job, in order. */
GPtrArray *job_state_history (BusFixture *fx, const char *job);

/* The size of the file at path, which must exist. */
goffset file_size (const char *path);
/* Polls (10 ms) until the file has at least size bytes. */
gboolean wait_file_size (const char *path, goffset size, guint timeout_ms);
/* Sorts an array of strings byte by byte (strcmp). */
void sort_strings (GPtrArray *strings);
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
/* Asserts that dir holds nothing. */
#define assert_dir_empty(dir) assert_dir_is ((dir), ((const char *const[]) { NULL }))
#define assert_file_mode(path, mode) g_assert_true (file_mode_is ((path), (mode)))
/* Asserts that the job's string property name is value. */
#define assert_job_string(fx, job, name, value) G_STMT_START {                 \
        g_autofree char *got__ = job_get_string ((fx), (job), (name));         \
        g_assert_cmpstr (got__, ==, (value));                                  \
} G_STMT_END
#define assert_file_content(path, content) g_assert_true (file_has_content ((path), (content)))

/* --------------------------------------------------------- job helpers */

/* Manager.Download; returns the job path, *id if asked. */
char *xferd_download (BusFixture *fx, const char *url, const char *local_path,
                      gboolean auto_complete, char **id);
/* The same with options (an a{sv} builder, ended by the call). */
char *xferd_download_with (BusFixture *fx, const char *url, const char *local_path, GVariantBuilder *options,
                           char **id);
/* Manager.CreateJob with no options. */
char *xferd_create_job (BusFixture *fx, const char *name, char **id);
/* Manager.CreateJob with string options given as key, value pairs up to a NULL key; a NULL
 * value leaves its key out. */
char *xferd_create_job_with (BusFixture *fx, const char *name, char **id, ...) G_GNUC_NULL_TERMINATED;
void xferd_add_file (BusFixture *fx, const char *job, const char *url, const char *local_path);
void xferd_job_call (BusFixture *fx, const char *job, const char *method);
/* A job of one file started by hand: CreateJob (name), MinimumRetryDelay (retry_delay seconds),
 * AddFile (url, local_path), Resume; returns the job path. */
char *xferd_start_job (BusFixture *fx, const char *name, const char *url, const char *local_path, guint32 retry_delay);
/* A method of the job without arguments (Resume, Suspend, Cancel, Complete) refused with the
 * D-Bus error error_name (XFERD_ERROR ("InvalidState") for a final job). */
void xferd_job_call_refused (BusFixture *fx, const char *job, const char *method, const char *error_name);
/* Complete(); returns partial. */
gboolean xferd_complete (BusFixture *fx, const char *job);
/* ListFiles()[index] temporary path (transfer full). */
char *xferd_temp_path (BusFixture *fx, const char *job, guint index);
/* The same, once that file holds at least size bytes (asserted, within WAIT_TIMEOUT_MS): a
 * transfer stalled by the test server, a partial file to act on. */
char *xferd_wait_temp (BusFixture *fx, const char *job, guint index, goffset size);
/* The temporary file of file `index` in a ListFiles reply, (a(sssttb)). */
char *list_files_temp_path (GVariant *reply, guint index);
/* ListJobs(false): the a(ssssutto) of the caller's jobs. */
GVariant *xferd_list_jobs (BusFixture *fx);
/* ListJobs(true): the a(ssssutto) of every user's jobs (the fixture's connection is root's or
 * the owner's of them all). */
GVariant *xferd_list_all_jobs (BusFixture *fx);
/* Whether ListJobs(false) lists id. */
gboolean xferd_lists_job (BusFixture *fx, const char *id);
/* Whether a ListJobs reply, (a(ssssutto)), lists id. */
gboolean list_jobs_reply_has (GVariant *reply, const char *id);
/* Waits up to timeout_ms for Manager.JobRemoved of id; returns its final_state, or
 * "(no JobRemoved)" when none came (for the caller's assertion to show). */
char *xferd_wait_job_removed (BusFixture *fx, const char *id, guint timeout_ms);
/* Asserts that the job of id goes, and in final_state (xferd_wait_job_removed()). */
#define assert_job_removed(fx, id, final_state) G_STMT_START {                  \
        g_autofree char *removed__ = xferd_wait_job_removed ((fx), (id), WAIT_TIMEOUT_MS); \
        g_assert_cmpstr (removed__, ==, (final_state));                         \
} G_STMT_END
/* SignalMatch for Manager.JobNew of the id in data. */
gboolean xferd_match_job_new (const RecordedSignal *sig, gpointer data);
/* Asserts GetJob(id) fails with NoSuchJob. */
void xferd_assert_no_such_job (BusFixture *fx, const char *id);
/* Id from a job path. */
const char *xferd_job_id (const char *job);

G_END_DECLS
