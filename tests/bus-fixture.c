/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus fixture: see bus-fixture.h. */
#include "bus-fixture.h"
#include "peer.h"
#include "poll-wait.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>

#define CALL_TIMEOUT_MS 30000
#define XFERD_EXIT_TIMEOUT_MS 10000

/* ------------------------------------------------------------ recording */

static void
recorded_signal_free (gpointer data)
{
        RecordedSignal *sig = data;

        g_free (sig->sender);
        g_free (sig->path);
        g_free (sig->iface);
        g_free (sig->member);
        g_variant_unref (sig->params);
        g_free (sig);
}

static void
on_signal (GDBusConnection *conn, const char *sender, const char *path,
           const char *iface, const char *member, GVariant *params, gpointer data)
{
        BusFixture *fx = data;
        RecordedSignal *sig = g_new0 (RecordedSignal, 1);

        sig->sender = g_strdup (sender);
        sig->path = g_strdup (path);
        sig->iface = g_strdup (iface);
        sig->member = g_strdup (member);
        sig->params = g_variant_ref (params);
        g_ptr_array_add (fx->signals, sig);
}

static gboolean
signal_matches (const RecordedSignal *sig, const char *path, const char *iface,
                const char *member, SignalMatch match, gpointer data)
{
        if (path && g_strcmp0 (sig->path, path) != 0)
                return FALSE;
        if (iface && g_strcmp0 (sig->iface, iface) != 0)
                return FALSE;
        if (member && g_strcmp0 (sig->member, member) != 0)
                return FALSE;
        return !match || match (sig, data);
}

/* ------------------------------------------------------------- waiting */

static gboolean
on_deadline (gpointer data)
{
        *(gboolean *) data = TRUE;
        return G_SOURCE_REMOVE;
}

static GSource *
deadline_source (BusFixture *fx, guint timeout_ms, gboolean *expired)
{
        GSource *source = g_timeout_source_new (timeout_ms);

        *expired = FALSE;
        g_source_set_callback (source, on_deadline, expired, NULL);
        g_source_attach (source, fx->ctx);
        return source;
}

static void
deadline_source_free (GSource *source)
{
        g_source_destroy (source);
        g_source_unref (source);
}

gboolean
bus_fixture_run_until (BusFixture *fx, const gboolean *done, guint timeout_ms)
{
        gboolean expired;
        GSource *deadline = deadline_source (fx, timeout_ms, &expired);

        while (!*done && !expired)
                g_main_context_iteration (fx->ctx, TRUE);
        deadline_source_free (deadline);
        return *done;
}

void
bus_fixture_run_for (BusFixture *fx, guint ms)
{
        static const gboolean never = FALSE;

        bus_fixture_run_until (fx, &never, ms);
}

static const RecordedSignal *
find_signal (BusFixture *fx, guint *index, const char *path, const char *iface,
             const char *member, SignalMatch match, gpointer data)
{
        for (; *index < fx->signals->len; (*index)++) {
                const RecordedSignal *sig = g_ptr_array_index (fx->signals, *index);
                if (signal_matches (sig, path, iface, member, match, data))
                        return sig;
        }
        return NULL;
}

const RecordedSignal *
bus_wait_signal (BusFixture *fx, guint *from, const char *path, const char *iface,
                 const char *member, SignalMatch match, gpointer data, guint timeout_ms)
{
        guint index = from ? *from : 0;
        gboolean expired;
        GSource *deadline = deadline_source (fx, timeout_ms, &expired);
        const RecordedSignal *sig;

        while (!(sig = find_signal (fx, &index, path, iface, member, match, data)) && !expired)
                g_main_context_iteration (fx->ctx, TRUE);
        deadline_source_free (deadline);
        if (sig && from)
                *from = index + 1;
        return sig;
}

guint
bus_count_signals (BusFixture *fx, const char *path, const char *iface,
                   const char *member, SignalMatch match, gpointer data)
{
        guint n = 0;

        /* Deliver what has already arrived first. */
        while (g_main_context_iteration (fx->ctx, FALSE))
                ;
        for (guint i = 0; i < fx->signals->len; i++)
                if (signal_matches (g_ptr_array_index (fx->signals, i), path, iface, member, match, data))
                        n++;
        return n;
}

/* Waits for a PropertiesChanged of path after the signals seen (counted before the read it
 * follows up: a change announced while that read was in flight is not missed), until deadline
 * (a monotonic time); FALSE when none came. */
static gboolean
wait_properties_changed (BusFixture *fx, guint seen, const char *path, gint64 deadline)
{
        gint64 left = deadline - g_get_monotonic_time ();

        return left > 0 && bus_wait_signal (fx, &seen, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                            NULL, NULL, (guint) (left / 1000) + 1);
}

gboolean
bus_wait_property (BusFixture *fx, const char *path, const char *iface,
                   const char *name, GVariant *value, guint timeout_ms)
{
        g_autoptr(GVariant) wanted = g_variant_ref_sink (value);
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        for (;;) {
                guint seen = fx->signals->len;
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) current = bus_get_property (fx, path, iface, name, &error);

                if (current && g_variant_equal (current, wanted))
                        return TRUE;
                if (!current)
                        g_test_message ("reading %s.%s: %s", path, name, error->message);
                if (!wait_properties_changed (fx, seen, path, deadline))
                        return FALSE;
        }
}

static gboolean
state_is_stuck (const char *state, const char *wanted)
{
        /* Nothing but a call moves a job out of these. */
        static const char *const stuck[] = { "error", "cancelled", "acknowledged", NULL };

        return g_strcmp0 (state, wanted) != 0 && g_strv_contains (stuck, state);
}

char *
job_wait_state_get (BusFixture *fx, const char *job, const char *state)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) WAIT_TIMEOUT_MS * 1000;
        g_autofree char *current = NULL;

        for (;;) {
                guint seen = fx->signals->len;
                g_free (current);
                current = job_get_string (fx, job, "State");
                if (g_strcmp0 (current, state) == 0 || state_is_stuck (current, state) ||
                    !wait_properties_changed (fx, seen, job, deadline))
                        break;
        }
        if (g_strcmp0 (current, state) != 0) {
                g_autofree char *name = job_get_string (fx, job, "ErrorName");
                g_autofree char *message = job_get_string (fx, job, "ErrorMessage");
                g_test_message ("job %s: waited for State %s, it is %s (ErrorName '%s', ErrorMessage '%s')",
                                job, state, current, name, message);
        }
        return g_steal_pointer (&current);
}

void
job_assert_error (BusFixture *fx, const char *job, const char *short_name, const char *in_message)
{
        g_autofree char *name = job_get_string (fx, job, "ErrorName");
        g_autofree char *message = job_get_string (fx, job, "ErrorMessage");
        g_autofree char *full = g_strconcat (XFERD_ERROR (""), short_name, NULL);

        g_test_message ("%s: %s", name, message);
        g_assert_cmpstr (name, ==, full);
        if (in_message)
                g_assert_nonnull (strstr (message, in_message));
}

typedef struct {
        const char *name;
        guint64 min, max;
} ChangedUint64;

static gboolean
match_changed_uint64 (const RecordedSignal *sig, gpointer data)
{
        const ChangedUint64 *want = data;
        g_autoptr(GVariant) changed = g_variant_get_child_value (sig->params, 1);
        guint64 v;

        return g_variant_lookup (changed, want->name, "t", &v) && v >= want->min && v <= want->max;
}

gboolean
job_wait_changed_uint64 (BusFixture *fx, const char *job, const char *name, guint64 min, guint64 max,
                         guint timeout_ms)
{
        ChangedUint64 want = { name, min, max };

        return bus_wait_signal (fx, NULL, job, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                match_changed_uint64, &want, timeout_ms) != NULL;
}

GPtrArray *
job_state_history (BusFixture *fx, const char *job)
{
        GPtrArray *states = g_ptr_array_new_with_free_func (g_free);

        bus_count_signals (fx, NULL, NULL, NULL, NULL, NULL);  /* flush */
        for (guint i = 0; i < fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (fx->signals, i);
                const char *iface, *state;
                g_autoptr(GVariant) changed = NULL;

                if (!signal_matches (sig, job, "org.freedesktop.DBus.Properties",
                                     "PropertiesChanged", NULL, NULL))
                        continue;
                g_variant_get (sig->params, "(&s@a{sv}@as)", &iface, &changed, NULL);
                if (g_strcmp0 (iface, XFERD_JOB_IFACE) == 0 &&
                    g_variant_lookup (changed, "State", "&s", &state))
                        g_ptr_array_add (states, g_strdup (state));
        }
        return states;
}

goffset
file_size (const char *path)
{
        GStatBuf st;

        g_assert_no_errno (g_stat (path, &st));
        return st.st_size;
}

gboolean
wait_file_size (const char *path, goffset size, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);
        GStatBuf st;

        while (g_stat (path, &st) != 0 || st.st_size < size)
                if (!poll_again (deadline, 10))
                        return FALSE;
        return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

void
sort_strings (GPtrArray *strings)
{
        g_assert_nonnull (strings);
        g_ptr_array_sort (strings, compare_strings);
}

GStrv
list_dir (const char *dir)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) d = g_dir_open (dir, 0, &error);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
        const char *name;

        g_assert_no_error (error);
        while ((name = g_dir_read_name (d)))
                g_ptr_array_add (names, g_strdup (name));
        sort_strings (names);
        g_ptr_array_add (names, NULL);
        return (GStrv) g_ptr_array_steal (names, NULL);
}

char *
dir_listing (const char *dir)
{
        g_auto(GStrv) found = list_dir (dir);

        return g_strjoinv (", ", found);
}

gboolean
file_has_content (const char *path, GBytes *content)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *data = NULL;
        gsize len, want = g_bytes_get_size (content);
        const char *expected = g_bytes_get_data (content, NULL);

        if (!g_file_get_contents (path, &data, &len, &error)) {
                g_test_message ("%s", error->message);
                return FALSE;
        }
        if (len != want) {
                g_test_message ("%s holds %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
                                path, len, want);
                return FALSE;
        }
        for (gsize i = 0; i < len; i++)
                if (data[i] != expected[i]) {
                        g_test_message ("%s differs first at byte %" G_GSIZE_FORMAT, path, i);
                        return FALSE;
                }
        return TRUE;
}

gboolean
file_mode_is (const char *path, guint mode)
{
        GStatBuf st;

        if (g_lstat (path, &st) < 0) {
                g_test_message ("%s: %s", path, g_strerror (errno));
                return FALSE;
        }
        if (!S_ISREG (st.st_mode)) {
                g_test_message ("%s is not a regular file", path);
                return FALSE;
        }
        if ((st.st_mode & 07777) != mode) {
                g_test_message ("%s has mode %04o, expected %04o", path, (guint) (st.st_mode & 07777), mode);
                return FALSE;
        }
        return TRUE;
}

/* --------------------------------------------------------------- calls */

/* The calls of the fixture's own connection (client NULL) and of a client as another user
 * (bus_client_new()) go through the same helpers. */
static GVariant *
call_as (BusFixture *fx, BusClient *client, const char *path, const char *iface, const char *method,
         GVariant *params, const GVariantType *reply_type, GError **error)
{
        if (client)
                return bus_client_call (client, path, iface, method, params, reply_type, error);
        return g_dbus_connection_call_sync (fx->conn, XFERD_BUS_NAME, path, iface, method,
                                            params, reply_type, G_DBUS_CALL_FLAGS_NONE,
                                            CALL_TIMEOUT_MS, NULL, error);
}

static GVariant *
get_property_as (BusFixture *fx, BusClient *client, const char *path, const char *iface,
                 const char *name, GError **error)
{
        g_autoptr(GVariant) reply = call_as (fx, client, path, "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new ("(ss)", iface, name), G_VARIANT_TYPE ("(v)"), error);
        GVariant *value = NULL;

        if (reply)
                g_variant_get (reply, "(v)", &value);
        return value;
}

static gboolean
set_property_as (BusFixture *fx, BusClient *client, const char *path, const char *iface,
                 const char *name, GVariant *value, GError **error)
{
        g_autoptr(GVariant) reply = call_as (fx, client, path, "org.freedesktop.DBus.Properties", "Set",
                                             g_variant_new ("(ssv)", iface, name, value), G_VARIANT_TYPE_UNIT,
                                             error);
        return reply != NULL;
}

GVariant *
bus_call (BusFixture *fx, const char *path, const char *iface, const char *method,
          GVariant *params, const GVariantType *reply_type, GError **error)
{
        return call_as (fx, NULL, path, iface, method, params, reply_type, error);
}

#define ASYNC_CALL_TIMEOUT_MS 60000

void
bus_async_reply_take (BusAsyncReply *r, GObject *source, GAsyncResult *result)
{
        r->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &r->error);
        r->when = g_get_monotonic_time ();
        r->done = TRUE;
}

static void
async_reply_done (GObject *source, GAsyncResult *result, gpointer data)
{
        bus_async_reply_take (data, source, result);
}

void
bus_call_async (BusFixture *fx, GDBusConnection *conn, const char *path, const char *iface, const char *method,
                GVariant *params, const GVariantType *reply_type, BusAsyncReply *r)
{
        *r = (BusAsyncReply) { .done = FALSE };
        /* The reply's callback runs in the context that is the thread's default now. */
        g_main_context_push_thread_default (fx->ctx);
        g_dbus_connection_call (conn, XFERD_BUS_NAME, path, iface, method, params, reply_type,
                                G_DBUS_CALL_FLAGS_NONE, ASYNC_CALL_TIMEOUT_MS, NULL, async_reply_done, r);
        g_main_context_pop_thread_default (fx->ctx);
}

void
bus_async_reply_clear (BusAsyncReply *r)
{
        g_clear_pointer (&r->reply, g_variant_unref);
        g_clear_error (&r->error);
}

GVariant *
bus_call_manager (BusFixture *fx, const char *method, GVariant *params,
                  const GVariantType *reply_type, GError **error)
{
        return call_as (fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, method, params, reply_type, error);
}

GVariant *
bus_call_job (BusFixture *fx, const char *job, const char *method, GVariant *params,
              const GVariantType *reply_type, GError **error)
{
        return call_as (fx, NULL, job, XFERD_JOB_IFACE, method, params, reply_type, error);
}

GVariant *
bus_driver_call (BusFixture *fx, const char *method, GVariant *params, const GVariantType *reply_type,
                 GError **error)
{
        return g_dbus_connection_call_sync (fx->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", method, params, reply_type,
                                            G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
}

GVariant *
bus_get_property (BusFixture *fx, const char *path, const char *iface,
                  const char *name, GError **error)
{
        return get_property_as (fx, NULL, path, iface, name, error);
}

gboolean
bus_set_property (BusFixture *fx, const char *path, const char *iface,
                  const char *name, GVariant *value, GError **error)
{
        return set_property_as (fx, NULL, path, iface, name, value, error);
}

static GVariant *
job_get (BusFixture *fx, const char *job, const char *name, const GVariantType *type)
{
        g_autoptr(GError) error = NULL;
        GVariant *value = bus_get_property (fx, job, XFERD_JOB_IFACE, name, &error);

        g_assert_no_error (error);
        if (!g_variant_is_of_type (value, type))
                g_test_message ("property %s has type %s", name, g_variant_get_type_string (value));
        g_assert_true (g_variant_is_of_type (value, type));
        return value;
}

char *
job_get_string (BusFixture *fx, const char *job, const char *name)
{
        g_autoptr(GVariant) v = job_get (fx, job, name, G_VARIANT_TYPE_STRING);
        return g_variant_dup_string (v, NULL);
}

guint64
job_get_uint64 (BusFixture *fx, const char *job, const char *name)
{
        g_autoptr(GVariant) v = job_get (fx, job, name, G_VARIANT_TYPE_UINT64);
        return g_variant_get_uint64 (v);
}

guint32
job_get_uint32 (BusFixture *fx, const char *job, const char *name)
{
        g_autoptr(GVariant) v = job_get (fx, job, name, G_VARIANT_TYPE_UINT32);
        return g_variant_get_uint32 (v);
}

gboolean
job_get_boolean (BusFixture *fx, const char *job, const char *name)
{
        g_autoptr(GVariant) v = job_get (fx, job, name, G_VARIANT_TYPE_BOOLEAN);
        return g_variant_get_boolean (v);
}

void
job_set (BusFixture *fx, const char *job, const char *name, GVariant *value)
{
        g_autoptr(GError) error = NULL;

        bus_set_property (fx, job, XFERD_JOB_IFACE, name, value, &error);
        g_assert_no_error (error);
}

void
manager_set (BusFixture *fx, const char *name, GVariant *value)
{
        g_autoptr(GError) error = NULL;

        bus_set_property (fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, name, value, &error);
        g_assert_no_error (error);
}

/* --------------------------------------------------------- job helpers */

static char *
job_from_reply (GVariant *reply, char **id)
{
        const char *rid, *path;

        g_variant_get (reply, "(&s&o)", &rid, &path);
        g_assert_true (g_str_has_prefix (path, XFERD_JOB_PATH_PREFIX));
        g_assert_cmpstr (path + strlen (XFERD_JOB_PATH_PREFIX), ==, rid);
        if (id)
                *id = g_strdup (rid);
        return g_strdup (path);
}

char *
xferd_download_with (BusFixture *fx, const char *url, const char *local_path, GVariantBuilder *options, char **id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, "Download",
                                                      g_variant_new ("(ssa{sv})", url, local_path, options),
                                                      G_VARIANT_TYPE ("(so)"), &error);

        g_assert_no_error (error);
        bus_fixture_note_xferd (fx);
        return job_from_reply (reply, id);
}

char *
xferd_download (BusFixture *fx, const char *url, const char *local_path,
                gboolean auto_complete, char **id)
{
        GVariantBuilder options;

        g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
        if (!auto_complete)
                g_variant_builder_add (&options, "{sv}", "auto-complete", g_variant_new_boolean (FALSE));
        return xferd_download_with (fx, url, local_path, &options, id);
}

/* options: a{sv} (a floating reference is sunk), or NULL for none. */
static char *
create_job_as (BusFixture *fx, BusClient *client, const char *name, GVariant *options, char **id)
{
        g_autoptr(GError) error = NULL;
        GVariant *params = g_variant_new ("(s@a{sv})", name, options ? options : g_variant_new ("a{sv}", NULL));
        g_autoptr(GVariant) reply = call_as (fx, client, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "CreateJob",
                                             params, G_VARIANT_TYPE ("(so)"), &error);
        g_assert_no_error (error);
        bus_fixture_note_xferd (fx);
        return job_from_reply (reply, id);
}

static void
add_file_as (BusFixture *fx, BusClient *client, const char *job, const char *url, const char *local_path)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = call_as (fx, client, job, XFERD_JOB_IFACE, "AddFile",
                                             g_variant_new ("(ss)", url, local_path), G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
}

static void
job_call_as (BusFixture *fx, BusClient *client, const char *job, const char *method)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = call_as (fx, client, job, XFERD_JOB_IFACE, method, NULL, G_VARIANT_TYPE_UNIT,
                                             &error);
        g_assert_no_error (error);
}

char *
xferd_create_job (BusFixture *fx, const char *name, char **id)
{
        return create_job_as (fx, NULL, name, NULL, id);
}

char *
xferd_create_job_with (BusFixture *fx, const char *name, char **id, ...)
{
        GVariantBuilder options;
        const char *key;
        va_list ap;

        g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
        va_start (ap, id);
        while ((key = va_arg (ap, const char *))) {
                const char *value = va_arg (ap, const char *);

                if (value)
                        g_variant_builder_add (&options, "{sv}", key, g_variant_new_string (value));
        }
        va_end (ap);
        return create_job_as (fx, NULL, name, g_variant_builder_end (&options), id);
}

void
xferd_add_file (BusFixture *fx, const char *job, const char *url, const char *local_path)
{
        add_file_as (fx, NULL, job, url, local_path);
}

void
xferd_job_call (BusFixture *fx, const char *job, const char *method)
{
        job_call_as (fx, NULL, job, method);
}

char *
xferd_start_job (BusFixture *fx, const char *name, const char *url, const char *local_path, guint32 retry_delay)
{
        g_autofree char *job = xferd_create_job (fx, name, NULL);

        job_set (fx, job, "MinimumRetryDelay", g_variant_new_uint32 (retry_delay));
        xferd_add_file (fx, job, url, local_path);
        xferd_job_call (fx, job, "Resume");
        return g_steal_pointer (&job);
}

void
xferd_job_call_refused (BusFixture *fx, const char *job, const char *method, const char *error_name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (fx, job, method, NULL, NULL, &error);

        bus_assert_error (error, error_name);
}

gboolean
xferd_complete (BusFixture *fx, const char *job)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (fx, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"), &error);
        gboolean partial;

        g_assert_no_error (error);
        g_variant_get (reply, "(b)", &partial);
        return partial;
}

char *
list_files_temp_path (GVariant *reply, guint index)
{
        g_autoptr(GVariant) files = g_variant_get_child_value (reply, 0);
        const char *temp;

        g_assert_cmpuint (index, <, g_variant_n_children (files));
        g_variant_get_child (files, index, "(&s&s&sttb)", NULL, NULL, &temp, NULL, NULL, NULL);
        return g_strdup (temp);
}

static char *
temp_path_as (BusFixture *fx, BusClient *client, const char *job, guint index)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = call_as (fx, client, job, XFERD_JOB_IFACE, "ListFiles", NULL,
                                             G_VARIANT_TYPE ("(a(sssttb))"), &error);

        g_assert_no_error (error);
        return list_files_temp_path (reply, index);
}

char *
xferd_temp_path (BusFixture *fx, const char *job, guint index)
{
        return temp_path_as (fx, NULL, job, index);
}

char *
xferd_wait_temp (BusFixture *fx, const char *job, guint index, goffset size)
{
        char *temp = temp_path_as (fx, NULL, job, index);
        gboolean held = wait_file_size (temp, size, WAIT_TIMEOUT_MS);

        if (!held)
                g_test_message ("%s does not hold %" G_GOFFSET_FORMAT " bytes", temp, size);
        g_assert_true (held);
        return temp;
}

/* ListJobs(all): the caller's jobs, or every user's. */
static GVariant *
list_jobs_as (BusFixture *fx, BusClient *client, gboolean all)
{
        g_autoptr(GError) error = NULL;
        GVariant *reply = call_as (fx, client, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs",
                                   g_variant_new ("(b)", all), G_VARIANT_TYPE ("(a(ssssutto))"), &error);

        g_assert_no_error (error);
        return reply;
}

GVariant *
xferd_list_jobs (BusFixture *fx)
{
        g_autoptr(GVariant) reply = list_jobs_as (fx, NULL, FALSE);

        return g_variant_get_child_value (reply, 0);
}

GVariant *
xferd_list_all_jobs (BusFixture *fx)
{
        g_autoptr(GVariant) reply = list_jobs_as (fx, NULL, TRUE);

        return g_variant_get_child_value (reply, 0);
}

gboolean
list_jobs_reply_has (GVariant *reply, const char *id)
{
        g_autoptr(GVariant) jobs = g_variant_get_child_value (reply, 0);

        for (gsize i = 0; i < g_variant_n_children (jobs); i++) {
                const char *jid;

                g_variant_get_child (jobs, i, "(&ssssutto)", &jid, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                if (strcmp (jid, id) == 0)
                        return TRUE;
        }
        return FALSE;
}

gboolean
xferd_lists_job (BusFixture *fx, const char *id)
{
        g_autoptr(GVariant) reply = list_jobs_as (fx, NULL, FALSE);

        return list_jobs_reply_has (reply, id);
}

const char *
xferd_job_id (const char *job)
{
        g_assert_true (g_str_has_prefix (job, XFERD_JOB_PATH_PREFIX));
        return job + strlen (XFERD_JOB_PATH_PREFIX);
}

static gboolean
match_job_removed (const RecordedSignal *sig, gpointer data)
{
        const char *id = data, *sid;

        if (!g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(sos)")))
                return FALSE;
        g_variant_get (sig->params, "(&s&o&s)", &sid, NULL, NULL);
        return strcmp (sid, id) == 0;
}

char *
xferd_wait_job_removed (BusFixture *fx, const char *id, guint timeout_ms)
{
        const RecordedSignal *sig = bus_wait_signal (fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                     "JobRemoved", match_job_removed, (gpointer) id, timeout_ms);
        const char *final_state;

        if (!sig)
                return g_strdup ("(no JobRemoved)");
        g_variant_get (sig->params, "(&s&o&s)", NULL, NULL, &final_state);
        return g_strdup (final_state);
}

gboolean
xferd_match_job_new (const RecordedSignal *sig, gpointer data)
{
        const char *id = data, *sid;

        if (!g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(so)")))
                return FALSE;
        g_variant_get (sig->params, "(&s&o)", &sid, NULL);
        return strcmp (sid, id) == 0;
}

void
xferd_assert_no_such_job (BusFixture *fx, const char *id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, "GetJob", g_variant_new ("(s)", id),
                                                      G_VARIANT_TYPE ("(o)"), &error);
        bus_assert_error (error, XFERD_ERROR ("NoSuchJob"));
}

/* -------------------------------------------------------- the private bus */

static void
write_file (const char *path, const char *contents)
{
        g_autoptr(GError) error = NULL;

        g_file_set_contents (path, contents, -1, &error);
        g_assert_no_error (error);
}

/* The executable named by the environment variable var, which meson test sets. */
static const char *
executable_from_env (const char *var)
{
        const char *path = g_getenv (var);

        if (!path)
                g_error ("%s is not set (run the tests with meson test)", var);
        if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
                g_error ("%s=%s is not an executable", var, path);
        return path;
}

const char *
xferd_binary (void)
{
        return executable_from_env ("XFERD_BINARY");
}

/* $XFERD_TEST_EXEC, the wrapper that records how each xferd ends (tests/xferd-exec-main.c). */
static const char *
xferd_test_exec (void)
{
        return executable_from_env ("XFERD_TEST_EXEC");
}

static char *
xferd_exec_line (BusFixture *fx, const BusFixtureOptions *options)
{
        const char *binary = xferd_binary ();
        g_autoptr(GString) exec = g_string_new (NULL);
        g_autofree char *quoted_wrapper = NULL;
        g_autofree char *quoted_exits = NULL;
        g_autofree char *quoted_binary = NULL;
        g_autofree char *quoted_state = NULL;

        fx->state_dir = g_build_filename (fx->tmpdir, "state", NULL);
        /* Every xferd runs as the child of xferd-test-exec, which writes how it ended here. */
        fx->exits_dir = g_build_filename (fx->tmpdir, "exits", NULL);
        g_assert_no_errno (g_mkdir (fx->exits_dir, 0755));
        quoted_wrapper = g_shell_quote (xferd_test_exec ());
        quoted_exits = g_shell_quote (fx->exits_dir);
        g_string_append_printf (exec, "%s %s ", quoted_wrapper, quoted_exits);
        quoted_binary = g_shell_quote (binary);
        quoted_state = g_shell_quote (fx->state_dir);
        /* On the system bus, making the state directory (0700) is part of what
         * the tests check. */
        if (!fx->system_bus)
                g_mkdir (fx->state_dir, 0700);
        if (options->xferd_env && options->xferd_env[0]) {
                g_string_append (exec, "/usr/bin/env");
                for (guint i = 0; options->xferd_env[i]; i++) {
                        g_autofree char *var = g_shell_quote (options->xferd_env[i]);
                        g_string_append_printf (exec, " %s", var);
                }
                g_string_append_c (exec, ' ');
        }
        g_string_append_printf (exec, "%s %s --log-level=debug --state-dir=%s", quoted_binary,
                                fx->system_bus ? "--system" : "--user", quoted_state);
        g_string_append_printf (exec, " --idle-timeout=%u", options->idle_timeout);
        g_string_append_printf (exec, " --retry-delay-floor=%u",
                                options->retry_delay_floor ? options->retry_delay_floor : 1);
        if (options->retention)
                g_string_append_printf (exec, " --retention=%u", options->retention);
        if (options->config || fx->system_bus) {
                g_autofree char *conf = g_build_filename (fx->tmpdir, "xferd.conf", NULL);
                g_autofree char *quoted_conf = g_shell_quote (conf);

                write_file (conf, options->config ? options->config : "");
                g_string_append_printf (exec, " --config=%s", quoted_conf);
        }
        for (guint i = 0; options->extra_args && options->extra_args[i]; i++) {
                g_autofree char *arg = g_shell_quote (options->extra_args[i]);
                g_string_append_printf (exec, " %s", arg);
        }
        return g_string_free (g_steal_pointer (&exec), FALSE);
}

/* System bus: dbus-daemon runs a script that sends xferd's stderr through tee
 * to fx->xferd_log and, as for the session bus, to the test log, and then
 * becomes xferd-test-exec, which runs xferd. */
static char *
system_exec_wrapper (BusFixture *fx, const char *exec)
{
        g_autofree char *wrapper = g_build_filename (fx->tmpdir, "xferd-exec", NULL);
        g_autofree char *quoted_log = NULL;
        g_autofree char *quoted_address = NULL;
        g_autofree char *script = NULL;

        fx->xferd_log = g_build_filename (fx->tmpdir, "xferd.log", NULL);
        quoted_log = g_shell_quote (fx->xferd_log);
        quoted_address = g_shell_quote (fx->address);
        script = g_strdup_printf ("#!/bin/bash\n"
                                  "# xferd as activated by the test bus, its log kept for the test\n"
                                  "export DBUS_SYSTEM_BUS_ADDRESS=%s\n"
                                  "exec 2> >(exec tee -a %s >&2)\n"
                                  "exec %s\n", quoted_address, quoted_log, exec);
        write_file (wrapper, script);
        g_assert_no_errno (g_chmod (wrapper, 0755));
        return g_shell_quote (wrapper);
}

char *
bus_session_config (const char *socket_path, const char *services_dir)
{
        return g_markup_printf_escaped (
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>session</type>\n"
                "  <listen>unix:path=%s</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <servicedir>%s</servicedir>\n"
                "  <policy context=\"default\">\n"
                "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                "    <allow eavesdrop=\"true\"/>\n"
                "    <allow own=\"*\"/>\n"
                "  </policy>\n"
                "</busconfig>\n", socket_path, services_dir);
}

/* The default policy of a system bus (as dbus-daemon's system.conf): anyone
 * may connect, receive, and talk to the bus driver; method calls to services
 * and owning names only where a service's policy file allows it. */
static const char system_bus_policy[] =
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <deny own=\"*\"/>\n"
        "    <deny send_type=\"method_call\"/>\n"
        "    <allow send_type=\"signal\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
        "    <allow receive_type=\"method_call\"/>\n"
        "    <allow receive_type=\"method_return\"/>\n"
        "    <allow receive_type=\"error\"/>\n"
        "    <allow receive_type=\"signal\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
        "    <deny send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"\n"
        "          send_member=\"UpdateActivationEnvironment\"/>\n"
        "  </policy>\n"
        "  <policy user=\"root\">\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
        "  </policy>\n";

static char *
write_bus_config (BusFixture *fx, const BusFixtureOptions *options)
{
        g_autofree char *services = g_build_filename (fx->tmpdir, "services", NULL);
        g_autofree char *socket = g_build_filename (fx->tmpdir, "bus", NULL);
        g_autofree char *service_file = g_build_filename (services, XFERD_BUS_NAME ".service", NULL);
        g_autofree char *config_file = g_build_filename (fx->tmpdir, "bus.conf", NULL);
        g_autofree char *config = NULL;
        g_autofree char *exec = NULL;
        g_autofree char *service = NULL;

        fx->address = g_strdup_printf ("unix:path=%s", socket);
        exec = xferd_exec_line (fx, options);
        g_mkdir (services, 0700);
        if (fx->system_bus) {
                const char *srcdir = g_getenv ("XFERD_SOURCE_ROOT");
                g_autofree char *policy = NULL;
                g_autofree char *wrapper = system_exec_wrapper (fx, exec);

                if (!srcdir)
                        g_error ("XFERD_SOURCE_ROOT is not set (run the tests with meson test)");
                policy = g_build_filename (srcdir, "data", XFERD_BUS_NAME ".conf", NULL);
                /* As the installed activation file says: dbus-daemon (root here)
                 * runs it itself, there is no launch helper on a private bus. */
                service = g_strdup_printf ("[D-BUS Service]\nName=" XFERD_BUS_NAME "\nExec=%s\nUser=root\n",
                                           wrapper);
                /* The system bus's policy with xferd's own policy file included
                 * as it is installed: the tests check that file too. */
                g_autofree char *e_socket = g_markup_escape_text (socket, -1);
                g_autofree char *e_services = g_markup_escape_text (services, -1);
                g_autofree char *e_policy = g_markup_escape_text (policy, -1);
                config = g_strdup_printf (
                        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                        "<busconfig>\n"
                        "  <type>system</type>\n"
                        "  <listen>unix:path=%s</listen>\n"
                        "  <auth>EXTERNAL</auth>\n"
                        "  <servicedir>%s</servicedir>\n"
                        "%s%s"
                        "  <include ignore_missing=\"no\">%s</include>\n"
                        "</busconfig>\n", e_socket, e_services, system_bus_policy,
                        options->extra_bus_policy ? options->extra_bus_policy : "", e_policy);
        } else {
                service = g_strdup_printf ("[D-BUS Service]\nName=" XFERD_BUS_NAME "\nExec=%s\n", exec);
                config = bus_session_config (socket, services);
        }
        write_file (service_file, service);
        write_file (config_file, config);
        return g_steal_pointer (&config_file);
}

static void
set_child_env (BusFixture *fx, GSubprocessLauncher *launcher)
{
        g_autofree char *no_system_bus = g_strdup_printf ("unix:path=%s/no-system-bus", fx->tmpdir);
        g_autofree char *runtime = g_build_filename (fx->tmpdir, "runtime", NULL);
        g_autofree char *xdg = g_build_filename (fx->tmpdir, "xdg", NULL);
        g_autofree char *state_home = g_build_filename (xdg, "state", NULL);
        g_autofree char *config_home = g_build_filename (xdg, "config", NULL);
        g_autofree char *data_home = g_build_filename (xdg, "data", NULL);
        g_autofree char *cache_home = g_build_filename (xdg, "cache", NULL);

        g_mkdir_with_parents (runtime, 0700);
        if (fx->system_bus) {
                g_autofree char *no_session_bus = g_strdup_printf ("unix:path=%s/no-session-bus", fx->tmpdir);

                g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", fx->address, TRUE);
                g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", no_session_bus, TRUE);
        } else {
                g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", fx->address, TRUE);
                /* Anything that talks to "the system bus" by mistake fails instead of
                 * reaching the machine's real bus. */
                g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS",
                                              fx->system_bus_address ? fx->system_bus_address : no_system_bus,
                                              TRUE);
        }
        g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
        g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", state_home, TRUE);
        g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config_home, TRUE);
        g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data_home, TRUE);
        g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache_home, TRUE);
}

static char *
read_line_from_fd (int fd)
{
        g_autoptr(GInputStream) in = g_unix_input_stream_new (fd, TRUE);
        g_autoptr(GDataInputStream) data = g_data_input_stream_new (in);
        g_autoptr(GError) error = NULL;
        char *line = g_data_input_stream_read_line (data, NULL, NULL, &error);

        g_assert_no_error (error);
        return line;
}

gboolean
bus_fixture_on_broker (const BusFixture *fx)
{
        return !fx->system_bus && g_strcmp0 (g_getenv ("XFERD_TEST_BUS"), "broker") == 0;
}

GSubprocess *
bus_daemon_spawn (GSubprocessLauncher *launcher, const char *const *argv, char **address)
{
        g_autoptr(GError) error = NULL;
        int address_pipe[2];
        GSubprocess *proc;

        g_assert_no_errno (pipe2 (address_pipe, O_CLOEXEC));
        /* The address arrives on fd 3; stdout (where activated services may
         * write) goes to our stderr, which is the test log, so it neither
         * fills a pipe nobody reads nor mixes with the TAP output. */
        g_subprocess_launcher_take_fd (launcher, address_pipe[1], 3);
        g_subprocess_launcher_take_stdout_fd (launcher, dup (STDERR_FILENO));
        proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
        g_assert_no_error (error);
        /* Our copy of the write end: the read ends when the bus exits without an address. */
        g_subprocess_launcher_close (launcher);

        *address = read_line_from_fd (address_pipe[0]);
        if (!*address)
                g_error ("%s exited without printing its address", argv[0]);
        return proc;
}

static void
start_dbus_daemon (BusFixture *fx, const char *config_file)
{
        /* The bus ends with the test process (then xferd loses its bus and exits too). */
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGTERM);
        g_autofree char *config_arg = g_strdup_printf ("--config-file=%s", config_file);
        g_autofree char *printed = NULL;

        set_child_env (fx, launcher);
        if (bus_fixture_on_broker (fx)) {
                /* dbus-broker, through the benchmarks' controller (it starts services without
                 * systemd): the same socket, service directory and allow-all policy. */
                const char *broker = g_getenv ("XFERD_TEST_BROKER");
                g_autofree char *socket = g_build_filename (fx->tmpdir, "bus", NULL);
                g_autofree char *services = g_build_filename (fx->tmpdir, "services", NULL);

                if (!broker)
                        g_error ("XFERD_TEST_BROKER is not set (run the tests with meson test)");
                const char *argv[] = { broker, "--nofork", "--print-address=3", "--listen", socket,
                                       "--servicedir", services, NULL };
                fx->dbus_daemon = bus_daemon_spawn (launcher, argv, &printed);
        } else {
                const char *argv[] = { "dbus-daemon", config_arg, "--nofork", "--print-address=3", NULL };
                fx->dbus_daemon = bus_daemon_spawn (launcher, argv, &printed);
        }
        g_test_message ("private bus: %s", printed);
}

GDBusConnection *
bus_connect (const char *address)
{
        g_autoptr(GError) error = NULL;
        GDBusConnection *conn = g_dbus_connection_new_for_address_sync (
                address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &error);

        g_assert_no_error (error);
        return conn;
}

void
bus_driver_round_trip (GDBusConnection *conn)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                                 "org.freedesktop.DBus", "GetId", NULL,
                                                                 G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
                                                                 WAIT_TIMEOUT_MS, NULL, &error);

        g_assert_no_error (error);
}

void
bus_list_jobs_answered (GDBusConnection *conn)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync (conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                                                 XFERD_MANAGER_IFACE, "ListJobs",
                                                                 g_variant_new ("(b)", FALSE),
                                                                 G_VARIANT_TYPE ("(a(ssssutto))"),
                                                                 G_DBUS_CALL_FLAGS_NONE, WAIT_TIMEOUT_MS, NULL,
                                                                 &error);

        g_assert_no_error (error);
}

static void
connect_to_bus (BusFixture *fx)
{
        fx->conn = bus_connect (fx->address);
        /* Every signal on the bus, from anyone: only xferd and the bus send. */
        fx->subscription = g_dbus_connection_signal_subscribe (fx->conn, NULL, NULL, NULL, NULL, NULL,
                                                               G_DBUS_SIGNAL_FLAGS_NONE,
                                                               on_signal, fx, NULL);
}

BusFixture *
bus_fixture_new (const BusFixtureOptions *options)
{
        static const BusFixtureOptions defaults = { 0 };
        g_autoptr(GError) error = NULL;
        BusFixture *fx = g_new0 (BusFixture, 1);

        /* Orphaned processes (an xferd-test-exec whose dbus-daemon is gone, a killed peer's
         * children) become our children, so that teardown and the tests can reap them. */
        prctl (PR_SET_CHILD_SUBREAPER, 1);

        if (!options)
                options = &defaults;
        fx->system_bus = options->system_bus;
        fx->system_bus_address = g_strdup (options->system_bus_address);
        fx->tmpdir = g_dir_make_tmp ("xferd-test-XXXXXX", &error);
        g_assert_no_error (error);
        /* The other users must reach the bus socket in it. */
        if (fx->system_bus)
                g_assert_no_errno (g_chmod (fx->tmpdir, 0755));
        fx->signals = g_ptr_array_new_with_free_func (recorded_signal_free);
        fx->xferd_pids = g_ptr_array_new ();
        fx->xferd_taken = g_ptr_array_new ();
        fx->ctx = g_main_context_new ();
        g_main_context_push_thread_default (fx->ctx);

        g_autofree char *config = write_bus_config (fx, options);
        start_dbus_daemon (fx, config);
        connect_to_bus (fx);
        return fx;
}

char *
bus_fixture_mkdir (BusFixture *fx, const char *name)
{
        char *dir = g_build_filename (fx->tmpdir, name, NULL);

        g_assert_no_errno (g_mkdir (dir, 0755));
        return dir;
}

guint32
bus_fixture_note_xferd (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (fx, "GetConnectionUnixProcessID",
                                                     g_variant_new ("(s)", XFERD_BUS_NAME), G_VARIANT_TYPE ("(u)"),
                                                     &error);
        guint32 pid;

        if (!reply)
                return 0;  /* not running right now */
        g_variant_get (reply, "(u)", &pid);
        if (!g_ptr_array_find (fx->xferd_pids, GUINT_TO_POINTER (pid), NULL))
                g_ptr_array_add (fx->xferd_pids, GUINT_TO_POINTER (pid));
        return pid;
}

typedef struct {
        const char *name;
        gboolean owned;
} OwnerChange;

/* NameOwnerChanged (name, old, new) for the name in data, new empty or not as data says. */
static gboolean
match_owner_change (const RecordedSignal *sig, gpointer data)
{
        const OwnerChange *want = data;
        const char *name, *new_owner;

        if (!g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(sss)")))
                return FALSE;
        g_variant_get (sig->params, "(&s&s&s)", &name, NULL, &new_owner);
        return strcmp (name, want->name) == 0 && (*new_owner != '\0') == want->owned;
}

gboolean
bus_wait_name_owner (BusFixture *fx, guint *from, const char *name, gboolean owned, guint timeout_ms)
{
        OwnerChange want = { name, owned };

        g_assert_nonnull (name);
        return bus_wait_signal (fx, from, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                                match_owner_change, &want, timeout_ms) != NULL;
}

gboolean
bus_wait_name_lost (BusFixture *fx, guint *from, const char *name, guint timeout_ms)
{
        return bus_wait_name_owner (fx, from, name, FALSE, timeout_ms);
}

gboolean
bus_fixture_wait_xferd_gone (BusFixture *fx, guint timeout_ms)
{
        /* Each call consumes one loss: a test may see xferd go several times. */
        guint from = fx->name_lost_seen;

        if (!bus_wait_name_lost (fx, &from, XFERD_BUS_NAME, timeout_ms))
                return FALSE;
        fx->name_lost_seen = from;
        return TRUE;
}

static GSubprocessLauncher *
child_launcher (BusFixture *fx, GSubprocessFlags flags)
{
        GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

        set_child_env (fx, launcher);
        return launcher;
}

GSubprocessLauncher *
bus_fixture_launcher (BusFixture *fx, GSubprocessFlags flags)
{
        return child_launcher (fx, flags);
}

GSubprocess *
bus_fixture_spawn (BusFixture *fx, const char *const *argv)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocessLauncher) launcher =
                child_launcher (fx, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
        GSubprocess *proc = g_subprocess_launcher_spawnv (launcher, argv, &error);

        g_assert_no_error (error);
        return proc;
}

int
bus_fixture_run (BusFixture *fx, const char *const *argv, char **out_stdout, char **out_stderr)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (fx, argv);
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *cmdline = g_strjoinv (" ", (GStrv) argv);

        /* Signals that arrive meanwhile wait in our context's queue. */
        g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
        g_assert_no_error (error);
        int status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc)
                                                     : 128 + g_subprocess_get_term_sig (proc);
        g_test_message ("$ %s -> %d\nstdout: %s\nstderr: %s", cmdline, status, out, err);
        if (out_stdout)
                *out_stdout = g_steal_pointer (&out);
        if (out_stderr)
                *out_stderr = g_steal_pointer (&err);
        return status;
}

int
bus_fixture_run_as (BusFixture *fx, const char *user, const char *const *argv,
                    char **out_stdout, char **out_stderr)
{
        g_autoptr(GPtrArray) full = g_ptr_array_new ();

        g_ptr_array_add (full, (gpointer) "runuser");
        g_ptr_array_add (full, (gpointer) "-u");
        g_ptr_array_add (full, (gpointer) user);
        g_ptr_array_add (full, (gpointer) "--");
        for (guint i = 0; argv[i]; i++)
                g_ptr_array_add (full, (gpointer) argv[i]);
        g_ptr_array_add (full, NULL);
        return bus_fixture_run (fx, (const char *const *) full->pdata, out_stdout, out_stderr);
}

char *
bus_fixture_xferd_log (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        char *log = NULL;

        g_assert_nonnull (fx->xferd_log);
        if (!g_file_get_contents (fx->xferd_log, &log, NULL, &error)) {
                g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);  /* xferd never ran */
                return g_strdup ("");
        }
        return log;
}

char *
bus_fixture_wait_xferd_log (BusFixture *fx, const char *needle, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        for (;;) {
                char *log = bus_fixture_xferd_log (fx);
                if (strstr (log, needle))
                        return log;
                g_free (log);
                if (!poll_again (deadline, 10))
                        return NULL;
        }
}

/* ------------------------------------------------ clients as other users */

struct BusClient {
        BusFixture *fx;
        char *user;
        GSubprocess *proc;
        GOutputStream *in;
        GDataInputStream *out;
        guint32 uid;
        char *unique_name;
        gboolean killed;        /* by bus_client_kill(): its end is no failure */
};

/* The users may not be able to reach the build tree: they run a copy in the
 * fixture's directory (0755 on the system bus). */
static const char *
client_binary (BusFixture *fx)
{
        const char *built = g_getenv ("XFERD_TEST_CLIENT");
        g_autoptr(GError) error = NULL;
        g_autofree char *contents = NULL;
        gsize len;

        if (fx->client_binary)
                return fx->client_binary;
        if (!built)
                g_error ("XFERD_TEST_CLIENT is not set (run the tests with meson test)");
        g_file_get_contents (built, &contents, &len, &error);
        g_assert_no_error (error);
        fx->client_binary = g_build_filename (fx->tmpdir, "xferd-test-client", NULL);
        g_file_set_contents_full (fx->client_binary, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE,
                                  0755, &error);
        g_assert_no_error (error);
        return fx->client_binary;
}

static char *
client_read_line (BusClient *client)
{
        g_autoptr(GError) error = NULL;
        char *line = g_data_input_stream_read_line (client->out, NULL, NULL, &error);

        g_assert_no_error (error);
        if (!line)
                g_error ("xferd-test-client as %s ended unexpectedly (see its stderr above)", client->user);
        return line;
}

/* The client as `user`: with runuser (the user's groups from the user database), or with
 * setpriv and exactly the groups given. */
static BusClient *
client_new (BusFixture *fx, const char *user, const char *gid, const char *groups)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocessLauncher) launcher =
                child_launcher (fx, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_autofree char *address = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", fx->address);
        BusClient *client = g_new0 (BusClient, 1);
        g_autofree char *ready = NULL;
        g_auto(GStrv) fields = NULL;

        g_assert_true (fx->system_bus);
        /* In a sanitizer build the client is instrumented too. Its leak check at exit would
         * read LSAN_OPTIONS' suppressions file, which the user may not be able to read:
         * the client is not what the tests check, so no leak check for it. */
        const char *asan = g_getenv ("ASAN_OPTIONS");
        if (asan) {
                g_autofree char *no_leaks = g_strconcat (asan, ":detect_leaks=0", NULL);
                g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", no_leaks, TRUE);
        }
        client->fx = fx;
        client->user = g_strdup (user ? user : "the test's user");
        if (groups) {
                g_autofree char *reuid = g_strconcat ("--reuid=", user, NULL);
                g_autofree char *regid = g_strconcat ("--regid=", gid, NULL);
                g_autofree char *groups_arg = *groups ? g_strconcat ("--groups=", groups, NULL)
                                                      : g_strdup ("--clear-groups");
                client->proc = g_subprocess_launcher_spawn (launcher, &error, "setpriv", reuid, regid, groups_arg,
                                                            "--", "env", address, client_binary (fx), NULL);
        } else if (user)
                client->proc = g_subprocess_launcher_spawn (launcher, &error, "runuser", "-u", user, "--",
                                                            "env", address, client_binary (fx), NULL);
        else
                client->proc = g_subprocess_launcher_spawn (launcher, &error, "env", address, client_binary (fx),
                                                            NULL);
        g_assert_no_error (error);
        client->in = g_object_ref (g_subprocess_get_stdin_pipe (client->proc));
        client->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (client->proc));

        ready = client_read_line (client);
        fields = g_strsplit (ready, "\t", -1);
        g_assert_cmpuint (g_strv_length (fields), ==, 3);
        g_assert_cmpstr (fields[0], ==, "ready");
        client->uid = (guint32) g_ascii_strtoull (fields[1], NULL, 10);
        client->unique_name = g_strdup (fields[2]);
        g_test_message ("client %s: uid %u, %s", client->user, client->uid, client->unique_name);
        return client;
}

BusClient *
bus_client_new (BusFixture *fx, const char *user)
{
        return client_new (fx, user, NULL, NULL);
}

BusClient *
bus_client_new_with_groups (BusFixture *fx, const char *user, const char *gid, const char *groups)
{
        g_assert_nonnull (gid);
        g_assert_nonnull (groups);
        return client_new (fx, user, gid, groups);
}

void
bus_client_kill (BusClient *client)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (client->fx, "GetConnectionUnixProcessID",
                                                     g_variant_new ("(s)", client->unique_name),
                                                     G_VARIANT_TYPE ("(u)"), &error);
        guint32 pid;

        g_assert_no_error (error);
        g_variant_get (reply, "(u)", &pid);
        g_assert_cmpint (kill ((pid_t) pid, SIGKILL), ==, 0);
        /* runuser (when there is one) ends with it. */
        g_subprocess_wait (client->proc, NULL, &error);
        g_assert_no_error (error);
        client->killed = TRUE;
}

void
bus_client_free (BusClient *client)
{
        g_autoptr(GError) error = NULL;

        if (!client)
                return;
        /* End of input ends it. */
        g_output_stream_close (client->in, NULL, NULL);
        g_subprocess_wait (client->proc, NULL, &error);
        g_assert_no_error (error);
        if (!client->killed && !g_subprocess_get_successful (client->proc)) {
                g_test_message ("xferd-test-client as %s did not end cleanly", client->user);
                g_test_fail ();
        }
        g_object_unref (client->in);
        g_object_unref (client->out);
        g_object_unref (client->proc);
        g_free (client->user);
        g_free (client->unique_name);
        g_free (client);
}

guint32
bus_client_uid (BusClient *client)
{
        return client->uid;
}

const char *
bus_client_unique_name (BusClient *client)
{
        return client->unique_name;
}

/* Sends one command line, returns the fields of the answer. */
static GStrv
client_command (BusClient *client, const char *command)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *line = g_strconcat (command, "\n", NULL);
        g_autofree char *answer = NULL;

        g_assert_null (strchr (command, '\n'));
        g_output_stream_write_all (client->in, line, strlen (line), NULL, NULL, &error);
        g_assert_no_error (error);
        g_output_stream_flush (client->in, NULL, &error);
        g_assert_no_error (error);
        answer = client_read_line (client);
        return g_strsplit (answer, "\t", 3);
}

/* An "ok<TAB>VALUE" or "error<TAB>NAME<TAB>MESSAGE" answer as a value or an error. */
static GVariant *
client_answer (BusClient *client, GStrv answer, const GVariantType *reply_type, GError **error)
{
        g_autoptr(GError) parse_error = NULL;
        GVariant *value;

        if (g_strcmp0 (answer[0], "error") == 0) {
                g_assert_cmpuint (g_strv_length (answer), ==, 3);
                g_autofree char *message = g_strcompress (answer[2]);
                g_propagate_error (error, g_dbus_error_new_for_dbus_error (answer[1], message));
                return NULL;
        }
        g_assert_cmpstr (answer[0], ==, "ok");
        g_assert_cmpuint (g_strv_length (answer), ==, 2);
        value = g_variant_parse (NULL, answer[1], NULL, NULL, &parse_error);
        g_assert_no_error (parse_error);
        if (reply_type && !g_variant_is_of_type (value, reply_type)) {
                g_autofree char *wanted = g_variant_type_dup_string (reply_type);

                g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                             "The reply has type %s, expected %s", g_variant_get_type_string (value), wanted);
                g_variant_unref (value);
                return NULL;
        }
        return value;
}

GVariant *
bus_client_call (BusClient *client, const char *path, const char *iface, const char *method,
                 GVariant *params, const GVariantType *reply_type, GError **error)
{
        return bus_client_call_to (client, XFERD_BUS_NAME, path, iface, method, params, reply_type, error);
}

GVariant *
bus_client_call_to (BusClient *client, const char *destination, const char *path, const char *iface,
                    const char *method, GVariant *params, const GVariantType *reply_type, GError **error)
{
        g_autofree char *text = NULL;
        g_autofree char *command = NULL;
        g_auto(GStrv) answer = NULL;

        if (params) {
                g_variant_ref_sink (params);
                text = g_variant_print (params, TRUE);
                g_variant_unref (params);
        }
        command = g_strdup_printf ("call\t%s\t%s\t%s\t%s\t%s", destination, path, iface, method,
                                   text ? text : "");
        answer = client_command (client, command);
        return client_answer (client, answer, reply_type, error);
}

GVariant *
bus_client_call_manager (BusClient *client, const char *method, GVariant *params,
                         const GVariantType *reply_type, GError **error)
{
        return call_as (client->fx, client, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, method, params, reply_type,
                        error);
}

GVariant *
bus_client_call_job (BusClient *client, const char *job, const char *method, GVariant *params,
                     const GVariantType *reply_type, GError **error)
{
        return call_as (client->fx, client, job, XFERD_JOB_IFACE, method, params, reply_type, error);
}

GVariant *
bus_client_get_property (BusClient *client, const char *path, const char *iface,
                         const char *name, GError **error)
{
        return get_property_as (client->fx, client, path, iface, name, error);
}

gboolean
bus_client_set_property (BusClient *client, const char *path, const char *iface,
                         const char *name, GVariant *value, GError **error)
{
        return set_property_as (client->fx, client, path, iface, name, value, error);
}

char *
bus_client_create_job (BusClient *client, const char *name, char **id)
{
        return create_job_as (client->fx, client, name, NULL, id);
}

char *
bus_client_make_job (BusClient *client, const char *method, GVariant *params, char **id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_client_call_manager (client, method, params, G_VARIANT_TYPE ("(so)"), &error);

        g_assert_no_error (error);
        bus_fixture_note_xferd (client->fx);
        return job_from_reply (reply, id);
}

void
bus_client_add_file (BusClient *client, const char *job, const char *url, const char *local_path)
{
        add_file_as (client->fx, client, job, url, local_path);
}

void
bus_client_job_call (BusClient *client, const char *job, const char *method)
{
        job_call_as (client->fx, client, job, method);
}

char *
bus_client_temp_path (BusClient *client, const char *job, guint index)
{
        return temp_path_as (client->fx, client, job, index);
}

gboolean
bus_client_lists_job (BusClient *client, const char *id)
{
        g_autoptr(GVariant) reply = list_jobs_as (client->fx, client, FALSE);

        return list_jobs_reply_has (reply, id);
}

void
bus_client_subscribe (BusClient *client)
{
        g_auto(GStrv) answer = client_command (client, "subscribe");
        g_autoptr(GVariant) unit = client_answer (client, answer, G_VARIANT_TYPE_UNIT, NULL);

        g_assert_nonnull (unit);
}

GVariant *
bus_client_signals (BusClient *client)
{
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) answer = client_command (client, "signals");
        GVariant *signals = client_answer (client, answer, G_VARIANT_TYPE ("a(ssssv)"), &error);

        g_assert_no_error (error);
        return signals;
}

/* ------------------------------------------------------------- teardown */

static guint teardown_failures;

guint
bus_fixture_teardown_failures (void)
{
        return teardown_failures;
}

/* A failure teardown finds: a message in the test's log (on stderr where GLib would not print it:
 * outside a GLib test, in xferd-test-sysbus, whose exit status then says so, and in a test's
 * subprocess, whose stderr the test reads), and the test fails. */
static void G_GNUC_PRINTF (1, 2)
teardown_failure (const char *format, ...)
{
        g_autofree char *message = NULL;
        va_list ap;

        va_start (ap, format);
        message = g_strdup_vprintf (format, ap);
        va_end (ap);
        if (g_test_initialized () && !g_test_subprocess ())
                g_test_message ("%s", message);
        else
                g_printerr ("%s\n", message);
        teardown_failures++;
        g_test_fail ();
}

/* An xferd's end as xferd-test-exec recorded it in fx->exits_dir. */
typedef struct {
        gboolean ended;
        int status;             /* as waitpid() gives it, once ended */
        pid_t wrapper;          /* the xferd-test-exec that ran it */
} XferdEnd;

/* The record of xferd pid; FALSE when there is none. */
static gboolean
read_xferd_end (BusFixture *fx, pid_t pid, XferdEnd *end)
{
        g_autofree char *name = g_strdup_printf ("%d", (int) pid);
        g_autofree char *path = g_build_filename (fx->exits_dir, name, NULL);
        g_autofree char *text = NULL;
        char word[16];
        int a = 0, b = 0, n;

        if (!g_file_get_contents (path, &text, NULL, NULL))
                return FALSE;
        n = sscanf (text, "%15s %d %d", word, &a, &b);
        *end = (XferdEnd) { 0 };
        if (n == 2 && strcmp (word, "running") == 0)
                end->wrapper = a;
        else if (n == 3 && strcmp (word, "exited") == 0)
                *end = (XferdEnd) { .ended = TRUE, .status = W_EXITCODE (a, 0), .wrapper = b };
        else if (n == 3 && strcmp (word, "killed") == 0)
                *end = (XferdEnd) { .ended = TRUE, .status = W_EXITCODE (0, a), .wrapper = b };
        else
                g_error ("%s is no record of xferd-test-exec's: %s", path, text);
        return TRUE;
}

/* Whether the test took the end of xferd pid (teardown does not judge it). */
static gboolean
xferd_taken (BusFixture *fx, pid_t pid)
{
        return g_ptr_array_find (fx->xferd_taken, GUINT_TO_POINTER ((guint) pid), NULL);
}

static gboolean
wait_xferd_end (BusFixture *fx, pid_t pid, XferdEnd *end, gint64 deadline)
{
        do {
                if (read_xferd_end (fx, pid, end) && end->ended)
                        return TRUE;
        } while (poll_again (deadline, 10));
        return FALSE;
}

gboolean
bus_fixture_wait_xferd_end (BusFixture *fx, pid_t pid, guint timeout_ms)
{
        XferdEnd end;

        g_assert_nonnull (fx);
        g_assert_cmpint (pid, >, 0);
        return wait_xferd_end (fx, pid, &end, poll_deadline (timeout_ms));
}

gboolean
bus_fixture_take_xferd_end (BusFixture *fx, pid_t pid, int *status, guint timeout_ms)
{
        XferdEnd end;

        g_assert_nonnull (fx);
        g_assert_cmpint (pid, >, 0);
        g_assert_nonnull (status);
        if (!wait_xferd_end (fx, pid, &end, poll_deadline (timeout_ms)))
                return FALSE;
        *status = end.status;
        if (!xferd_taken (fx, pid))
                g_ptr_array_add (fx->xferd_taken, GUINT_TO_POINTER ((guint) pid));
        return TRUE;
}

pid_t
bus_fixture_take_xferd_failure (BusFixture *fx, int *status, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        g_assert_nonnull (fx);
        g_assert_nonnull (status);
        do {
                g_autoptr(GDir) dir = g_dir_open (fx->exits_dir, 0, NULL);
                const char *name;

                g_assert_nonnull (dir);
                while ((name = g_dir_read_name (dir))) {
                        pid_t pid = (pid_t) g_ascii_strtoll (name, NULL, 10);
                        XferdEnd end;

                        if (name[0] == '.' || pid <= 0 || xferd_taken (fx, pid) || !read_xferd_end (fx, pid, &end) ||
                            !end.ended || (WIFEXITED (end.status) && WEXITSTATUS (end.status) == 0))
                                continue;
                        *status = end.status;
                        g_ptr_array_add (fx->xferd_taken, GUINT_TO_POINTER ((guint) pid));
                        return pid;
                }
        } while (poll_again (deadline, 10));
        return 0;
}

typedef enum {
        PROC_OTHER,             /* gone, not the test's child, or of another name */
        PROC_OURS,              /* the test's child */
        PROC_OURS_ENDED,        /* the test's child, ended and not yet reaped */
} ProcState;

/* What /proc says of pid, a process named comm. An orphan becomes the test's child (the fixture
 * is a subreaper); the test reaps only such a one, so that no other child's status is taken. */
static ProcState
proc_state (pid_t pid, const char *comm)
{
        g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
        g_autofree char *named = g_strdup_printf (" (%s) ", comm);
        g_autofree char *stat = NULL;
        const char *comm_end;
        char state;
        int ppid;

        if (!g_file_get_contents (path, &stat, NULL, NULL))
                return PROC_OTHER;
        comm_end = strrchr (stat, ')');
        if (!comm_end || !strstr (stat, named) || sscanf (comm_end + 1, " %c %d", &state, &ppid) != 2 ||
            ppid != getpid ())
                return PROC_OTHER;
        return state == 'Z' ? PROC_OURS_ENDED : PROC_OURS;
}

/* Reaps the wrapper of an xferd that ended, if it became our child (its bus was gone first). */
static void
reap_wrapper (pid_t wrapper)
{
        gint64 deadline = poll_deadline (XFERD_EXIT_TIMEOUT_MS);

        do {
                switch (proc_state (wrapper, "xferd-test-exec")) {
                case PROC_OTHER:
                        return;         /* gone (the bus reaped it), or not ours */
                case PROC_OURS_ENDED:
                        (void) waitpid (wrapper, NULL, WNOHANG);
                        return;
                case PROC_OURS:
                        break;
                }
        } while (poll_again (deadline, 10));
}

/* An xferd whose wrapper is gone (killed: nothing in the tree does that) stays `running` in
 * its record and is our child: once it has ended, reaps it and gives its own status as its end,
 * and the test fails. FALSE while it runs, or when it is not ours. */
static gboolean
reap_orphaned_xferd (pid_t pid, XferdEnd *end)
{
        g_autofree char *comm = g_path_get_basename (xferd_binary ());
        int status;

        comm[MIN (strlen (comm), 15)] = '\0';        /* /proc's name is at most 15 bytes */
        if (proc_state (pid, comm) != PROC_OURS_ENDED || waitpid (pid, &status, WNOHANG) != pid)
                return FALSE;
        teardown_failure ("xferd %d ran on after its xferd-test-exec %d was gone", (int) pid, (int) end->wrapper);
        *end = (XferdEnd) { .ended = TRUE, .status = status };
        return TRUE;
}

/* Fails the test when xferd pid ended other than with exit status 0, unless the test took
 * that end (bus_fixture_take_xferd_end()). */
static void
judge_xferd_end (BusFixture *fx, pid_t pid, const XferdEnd *end)
{
        if (xferd_taken (fx, pid))
                return;
        if (WIFEXITED (end->status) && WEXITSTATUS (end->status) == 0)
                return;
        if (WIFSIGNALED (end->status))
                teardown_failure ("xferd %d was killed by signal %d (%s); its log (stderr) is in the test's "
                                  "output above", (int) pid, WTERMSIG (end->status),
                                  g_strsignal (WTERMSIG (end->status)));
        else
                teardown_failure ("xferd %d exited with status %d; its log (stderr) is in the test's output "
                                  "above", (int) pid, WEXITSTATUS (end->status));
}

enum { XFERD_RUNNING = 1, XFERD_JUDGED };

/* Once the bus is gone: waits for every xferd it started (each one has its record from before
 * it ran) to end, and judges each end. One still running after
 * XFERD_EXIT_TIMEOUT_MS is killed, and the test fails. A directory read while a record is
 * renamed into place may miss that name, so the directory is read again until a reading finds
 * no name it had not judged and every xferd seen running has ended. */
static void
check_xferd_ends (BusFixture *fx)
{
        gint64 deadline = poll_deadline (XFERD_EXIT_TIMEOUT_MS);
        g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
        GHashTableIter iter;
        gpointer key, value;
        gboolean again;

        if (!fx->exits_dir)
                return;
        do {
                g_autoptr(GDir) dir = g_dir_open (fx->exits_dir, 0, NULL);
                const char *name;

                g_assert_nonnull (dir);
                again = FALSE;
                while ((name = g_dir_read_name (dir))) {
                        pid_t pid = (pid_t) g_ascii_strtoll (name, NULL, 10);
                        XferdEnd end;

                        if (name[0] == '.' || pid <= 0 ||
                            GPOINTER_TO_INT (g_hash_table_lookup (seen, GINT_TO_POINTER (pid))) == XFERD_JUDGED)
                                continue;
                        again = TRUE;
                        if (!read_xferd_end (fx, pid, &end) || (!end.ended && !reap_orphaned_xferd (pid, &end))) {
                                g_hash_table_insert (seen, GINT_TO_POINTER (pid), GINT_TO_POINTER (XFERD_RUNNING));
                                continue;
                        }
                        g_hash_table_insert (seen, GINT_TO_POINTER (pid), GINT_TO_POINTER (XFERD_JUDGED));
                        judge_xferd_end (fx, pid, &end);
                        reap_wrapper (end.wrapper);
                }
                g_hash_table_iter_init (&iter, seen);
                while (g_hash_table_iter_next (&iter, NULL, &value))
                        if (GPOINTER_TO_INT (value) == XFERD_RUNNING)
                                again = TRUE;
        } while (again && poll_again (deadline, 10));

        g_hash_table_iter_init (&iter, seen);
        while (g_hash_table_iter_next (&iter, &key, &value)) {
                pid_t pid = GPOINTER_TO_INT (key);
                XferdEnd end;
                gint64 kill_deadline;

                if (GPOINTER_TO_INT (value) != XFERD_RUNNING)
                        continue;
                teardown_failure ("xferd %d did not exit after its bus went away; killing it", (int) pid);
                kill (pid, SIGKILL);
                kill_deadline = poll_deadline (XFERD_EXIT_TIMEOUT_MS);
                do {
                        if (!read_xferd_end (fx, pid, &end))
                                break;
                        if (end.ended) {
                                reap_wrapper (end.wrapper);
                                break;
                        }
                        if (reap_orphaned_xferd (pid, &end))
                                break;
                } while (poll_again (kill_deadline, 10));
        }
        /* Every xferd the fixture saw owning the name ran under the wrapper. */
        for (guint i = 0; i < fx->xferd_pids->len; i++) {
                pid_t pid = (pid_t) GPOINTER_TO_UINT (g_ptr_array_index (fx->xferd_pids, i));

                if (g_hash_table_contains (seen, GINT_TO_POINTER (pid)))
                        continue;
                teardown_failure ("xferd %d has no record in %s: it did not run under xferd-test-exec",
                                  (int) pid, fx->exits_dir);
        }
}

void
bus_fixture_free (BusFixture *fx)
{
        guint32 running;

        if (!fx)
                return;
        /* As a system shuts down: the service stops before its bus. An xferd that loses its
         * bus exits with a failure (the service manager restarts it), which teardown would
         * count against the test. */
        running = bus_fixture_note_xferd (fx);
        if (running && kill ((pid_t) running, SIGTERM) == 0 &&
            !bus_fixture_wait_xferd_end (fx, (pid_t) running, XFERD_EXIT_TIMEOUT_MS)) {
                teardown_failure ("xferd %u did not exit after SIGTERM", running);
        }
        if (fx->subscription)
                g_dbus_connection_signal_unsubscribe (fx->conn, fx->subscription);
        if (fx->conn)
                g_dbus_connection_close_sync (fx->conn, NULL, NULL);
        g_clear_object (&fx->conn);
        if (fx->dbus_daemon) {
                g_subprocess_send_signal (fx->dbus_daemon, SIGTERM);
                g_subprocess_wait (fx->dbus_daemon, NULL, NULL);
        }
        check_xferd_ends (fx);
        g_clear_object (&fx->dbus_daemon);
        while (g_main_context_iteration (fx->ctx, FALSE))
                ;
        g_main_context_pop_thread_default (fx->ctx);
        g_main_context_unref (fx->ctx);
        peer_remove_tree (fx->tmpdir);
        g_ptr_array_unref (fx->signals);
        g_ptr_array_unref (fx->xferd_pids);
        g_ptr_array_unref (fx->xferd_taken);
        g_free (fx->exits_dir);
        g_free (fx->address);
        g_free (fx->tmpdir);
        g_free (fx->state_dir);
        g_free (fx->xferd_log);
        g_free (fx->client_binary);
        g_free (fx->system_bus_address);
        g_free (fx);
}

gboolean
test_needs (const char *missing)
{
        if (!missing)
                return TRUE;
        peer_skip_or_fail ("this test needs %s", missing);
        return FALSE;
}

gboolean
test_needs_root_and_users (void)
{
        if (geteuid () != 0)
                return test_needs ("root");
        if (!getpwnam ("xferd-test-a") || !getpwnam ("xferd-test-b"))
                return test_needs ("the users xferd-test-a and xferd-test-b (scripts/test.sh makes them)");
        return TRUE;
}
