/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd-test-client: the D-Bus client a test runs as another user (started
 * with runuser by bus_client_new() in bus-fixture.c), so that the test can act
 * on its private system bus as that user. It connects to
 * $DBUS_SYSTEM_BUS_ADDRESS, says
 *
 *   ready<TAB>UID<TAB>UNIQUE-NAME
 *
 * and then answers each command line on stdin with one line on stdout:
 *
 *   call<TAB>DESTINATION<TAB>PATH<TAB>INTERFACE<TAB>METHOD<TAB>PARAMS
 *       PARAMS is a GVariant tuple in text form (g_variant_print with types),
 *       empty for none.
 *     -> ok<TAB>REPLY                 the reply tuple, printed with types
 *     -> error<TAB>NAME<TAB>MESSAGE   the D-Bus error name and its message (g_strescape'd)
 *   subscribe
 *       records every signal this connection receives from now on (a plain
 *       match rule, no eavesdropping); answers once the bus has the rule.
 *     -> ok<TAB>()
 *   signals
 *       first a Peer.Ping round trip to xferd, so that every signal it sent
 *       before answering is in, then
 *     -> ok<TAB>a(ssssv)              (sender, path, interface, member, params) of each
 *
 * End of input ends it. Anything unexpected is a message on stderr and exit
 * status 2.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>

#define XFERD_BUS_NAME "org.xferd.Transfer1"
#define XFERD_MANAGER_PATH "/org/xferd/Transfer1"
#define CALL_TIMEOUT_MS 30000

static GDBusConnection *conn;
static GPtrArray *signals;  /* GVariant (ssssv) */
static guint subscription;

static void
on_signal (GDBusConnection *c, const char *sender, const char *path, const char *iface,
           const char *member, GVariant *params, gpointer data)
{
        g_ptr_array_add (signals, g_variant_ref_sink (g_variant_new ("(ssssv)", sender ? sender : "",
                                                                     path, iface, member, params)));
}

static void
reply_variant (GVariant *v)
{
        g_autofree char *text = g_variant_print (v, TRUE);

        printf ("ok\t%s\n", text);
}

static void
reply_error (const GError *error)
{
        g_autofree char *name = g_dbus_error_get_remote_error (error);
        g_autoptr(GError) copy = g_error_copy (error);
        g_autofree char *message = NULL;

        g_dbus_error_strip_remote_error (copy);
        message = g_strescape (copy->message, NULL);
        printf ("error\t%s\t%s\n", name ? name : "(local)", message);
}

static void
do_call (char **fields)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) params = NULL;
        g_autoptr(GVariant) reply = NULL;

        if (g_strv_length (fields) != 6) {
                g_printerr ("xferd-test-client: call needs DESTINATION, PATH, INTERFACE, METHOD and PARAMS\n");
                exit (2);
        }
        if (*fields[5]) {
                params = g_variant_parse (NULL, fields[5], NULL, NULL, &error);
                if (!params) {
                        g_printerr ("xferd-test-client: cannot parse '%s': %s\n", fields[5], error->message);
                        exit (2);
                }
                if (!g_variant_is_of_type (params, G_VARIANT_TYPE_TUPLE)) {
                        g_printerr ("xferd-test-client: parameters '%s' are not a tuple\n", fields[5]);
                        exit (2);
                }
        }
        reply = g_dbus_connection_call_sync (conn, fields[1], fields[2], fields[3], fields[4],
                                             g_steal_pointer (&params), NULL, G_DBUS_CALL_FLAGS_NONE,
                                             CALL_TIMEOUT_MS, NULL, &error);
        if (reply)
                reply_variant (reply);
        else
                reply_error (error);
}

static void
do_subscribe (void)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) id = NULL;

        if (!subscription)
                subscription = g_dbus_connection_signal_subscribe (conn, NULL, NULL, NULL, NULL, NULL,
                                                                   G_DBUS_SIGNAL_FLAGS_NONE,
                                                                   on_signal, NULL, NULL);
        /* The AddMatch went out before this call: once it is answered, the
         * bus has the rule. */
        id = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                          "org.freedesktop.DBus", "GetId", NULL, G_VARIANT_TYPE ("(s)"),
                                          G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
        if (!id) {
                g_printerr ("xferd-test-client: GetId: %s\n", error->message);
                exit (2);
        }
        printf ("ok\t()\n");
}

static void
do_signals (void)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) pong = NULL;
        GVariantBuilder b;

        /* xferd sends in order: what it emitted before this Ping arrives before the answer. */
        pong = g_dbus_connection_call_sync (conn, XFERD_BUS_NAME, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                                            "Ping", NULL, G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NONE,
                                            CALL_TIMEOUT_MS, NULL, &error);
        if (!pong) {
                reply_error (error);
                return;
        }
        /* GDBus queued the signals for our context before handing over the reply. */
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ssssv)"));
        for (guint i = 0; i < signals->len; i++)
                g_variant_builder_add_value (&b, g_ptr_array_index (signals, i));
        reply_variant (g_variant_builder_end (&b));
}

int
main (int argc, char *argv[])
{
        g_autoptr(GError) error = NULL;
        const char *address = g_getenv ("DBUS_SYSTEM_BUS_ADDRESS");
        g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
        g_autoptr(GDataInputStream) lines = g_data_input_stream_new (in);
        char *line;

        setvbuf (stdout, NULL, _IOLBF, 0);
        if (!address) {
                g_printerr ("xferd-test-client: DBUS_SYSTEM_BUS_ADDRESS is not set\n");
                return 2;
        }
        conn = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
        if (!conn) {
                g_printerr ("xferd-test-client: cannot connect to %s: %s\n", address, error->message);
                return 2;
        }
        signals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
        printf ("ready\t%u\t%s\n", (unsigned) getuid (), g_dbus_connection_get_unique_name (conn));

        while ((line = g_data_input_stream_read_line (lines, NULL, NULL, &error))) {
                g_auto(GStrv) fields = g_strsplit (line, "\t", -1);

                if (g_strcmp0 (fields[0], "call") == 0)
                        do_call (fields);
                else if (g_strcmp0 (fields[0], "subscribe") == 0)
                        do_subscribe ();
                else if (g_strcmp0 (fields[0], "signals") == 0)
                        do_signals ();
                else {
                        g_printerr ("xferd-test-client: unknown command '%s'\n", fields[0]);
                        return 2;
                }
                g_free (line);
        }
        if (error) {
                g_printerr ("xferd-test-client: reading stdin: %s\n", error->message);
                return 2;
        }
        if (subscription)
                g_dbus_connection_signal_unsubscribe (conn, subscription);
        g_dbus_connection_close_sync (conn, NULL, NULL);
        g_object_unref (conn);
        g_ptr_array_unref (signals);
        return 0;
}
