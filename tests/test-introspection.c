/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * data/org.xferd.Transfer1.xml must describe what the daemon exports. Both
 * sides are reduced to one line per member (method argument types and
 * directions, signal argument types, property type and access) and the two
 * sets compared; annotations and argument names are ignored, because sd-bus
 * adds or drops them depending on the bus.
 */
#include "bus-fixture.h"
#include "test-cases.h"

static void
append_args (GString *line, GDBusArgInfo **args)
{
        g_string_append_c (line, '(');
        for (guint i = 0; args && args[i]; i++)
                g_string_append_printf (line, "%s%s", i ? "," : "", args[i]->signature);
        g_string_append_c (line, ')');
}

static const char *
access_name (GDBusPropertyInfoFlags flags)
{
        gboolean readable = flags & G_DBUS_PROPERTY_INFO_FLAGS_READABLE;
        gboolean writable = flags & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE;

        return readable && writable ? "readwrite" : writable ? "write" : "read";
}

/* One line per member, sorted: "method Name in(...) out(...)",
 * "signal Name (...)", "property Name type access". */
static GPtrArray *
describe (GDBusInterfaceInfo *iface)
{
        GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; iface->methods && iface->methods[i]; i++) {
                GString *line = g_string_new (NULL);
                g_string_append_printf (line, "method %s in", iface->methods[i]->name);
                append_args (line, iface->methods[i]->in_args);
                g_string_append (line, " out");
                append_args (line, iface->methods[i]->out_args);
                g_ptr_array_add (lines, g_string_free (line, FALSE));
        }
        for (guint i = 0; iface->signals && iface->signals[i]; i++) {
                GString *line = g_string_new (NULL);
                g_string_append_printf (line, "signal %s ", iface->signals[i]->name);
                append_args (line, iface->signals[i]->args);
                g_ptr_array_add (lines, g_string_free (line, FALSE));
        }
        for (guint i = 0; iface->properties && iface->properties[i]; i++) {
                GDBusPropertyInfo *p = iface->properties[i];
                g_ptr_array_add (lines, g_strdup_printf ("property %s %s %s", p->name, p->signature,
                                                         access_name (p->flags)));
        }
        sort_strings (lines);
        return lines;
}

static gboolean
has_line (GPtrArray *lines, const char *line)
{
        return g_ptr_array_find_with_equal_func (lines, line, g_str_equal, NULL);
}

/* Logs the differences line by line, then fails if there are any. */
static void
assert_same_interface (GDBusInterfaceInfo *documented, GDBusInterfaceInfo *exported)
{
        g_autoptr(GPtrArray) doc = describe (documented);
        g_autoptr(GPtrArray) exp = describe (exported);
        guint differences = 0;

        for (guint i = 0; i < doc->len; i++)
                if (!has_line (exp, doc->pdata[i])) {
                        g_test_message ("%s: in the XML, not exported: %s", documented->name, (char *) doc->pdata[i]);
                        differences++;
                }
        for (guint i = 0; i < exp->len; i++)
                if (!has_line (doc, exp->pdata[i])) {
                        g_test_message ("%s: exported, not in the XML: %s", documented->name, (char *) exp->pdata[i]);
                        differences++;
                }
        g_assert_cmpuint (differences, ==, 0);
        g_assert_cmpuint (doc->len, >, 0);
}

static GDBusNodeInfo *
load_documented (void)
{
        const char *root = g_getenv ("XFERD_SOURCE_ROOT");
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        g_assert_nonnull (root);
        g_autofree char *path = g_build_filename (root, "data", "org.xferd.Transfer1.xml", NULL);
        g_file_get_contents (path, &xml, NULL, &error);
        g_assert_no_error (error);
        GDBusNodeInfo *node = g_dbus_node_info_new_for_xml (xml, &error);
        g_assert_no_error (error);
        return node;
}

static GDBusNodeInfo *
introspect (BusFixture *fx, const char *path)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call (fx, path, "org.freedesktop.DBus.Introspectable", "Introspect",
                                              NULL, G_VARIANT_TYPE ("(s)"), &error);
        const char *xml;

        g_assert_no_error (error);
        g_variant_get (reply, "(&s)", &xml);
        GDBusNodeInfo *node = g_dbus_node_info_new_for_xml (xml, &error);
        g_assert_no_error (error);
        return node;
}

static GDBusInterfaceInfo *
find_interface (GDBusNodeInfo *node, const char *name)
{
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface (node, name);

        if (!iface)
                g_test_message ("interface %s is missing", name);
        g_assert_nonnull (iface);
        return iface;
}

static void
test_manager (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autoptr(GDBusNodeInfo) documented = load_documented ();
        g_autoptr(GDBusNodeInfo) exported = introspect (fx, XFERD_MANAGER_PATH);

        assert_same_interface (find_interface (documented, XFERD_MANAGER_IFACE),
                               find_interface (exported, XFERD_MANAGER_IFACE));
        /* The contract puts the ObjectManager on the manager object. */
        find_interface (exported, "org.freedesktop.DBus.ObjectManager");
}

static void
test_job (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autoptr(GDBusNodeInfo) documented = load_documented ();
        g_autofree char *job = xferd_create_job (fx, "introspected", NULL);
        g_autoptr(GDBusNodeInfo) exported = introspect (fx, job);

        assert_same_interface (find_interface (documented, XFERD_JOB_IFACE),
                               find_interface (exported, XFERD_JOB_IFACE));
}

const TestCase test_cases[] = {
        { "/introspection/manager", test_manager },
        { "/introspection/job", test_job },
        { NULL, NULL }
};
