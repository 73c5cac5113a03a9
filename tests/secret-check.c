/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "secret-check.h"

char *
secret_url (guint16 port, const char *path)
{
        return g_strdup_printf ("http://" SECRET_USER ":" SECRET_PASSWORD "@127.0.0.1:%u%s?token=" SECRET_TOKEN
                                "&x=1#frag" SECRET_TOKEN, port, path);
}

void
assert_no_secret (const char *what, const char *text)
{
        const char *const secrets[] = { SECRET_USER, SECRET_PASSWORD, SECRET_TOKEN, NULL };

        for (guint i = 0; secrets[i]; i++)
                if (strstr (text, secrets[i])) {
                        g_test_message ("%s shows '%s': %s", what, secrets[i], text);
                        g_assert_null (strstr (text, secrets[i]));
                }
}

void
assert_job_shows_no_secret (BusFixture *fx, const char *job)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) all = bus_call (fx, job, "org.freedesktop.DBus.Properties", "GetAll",
                                            g_variant_new ("(s)", XFERD_JOB_IFACE), G_VARIANT_TYPE ("(a{sv})"),
                                            &error);

        g_assert_no_error (error);
        g_autofree char *text = g_variant_print (all, FALSE);
        g_test_message ("properties: %s", text);
        assert_no_secret ("a property", text);
}

void
assert_signals_show_no_secret (BusFixture *fx)
{
        for (guint i = 0; i < fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (fx->signals, i);
                g_autofree char *text = g_variant_print (sig->params, FALSE);
                assert_no_secret (sig->member, text);
        }
}

void
assert_log_shows_no_secret (XferdLog *log, const char *needle)
{
        g_autofree char *all = xferd_log_grep (log, "");

        g_assert_cmpuint (xferd_log_count (log, needle), >, 0);
        assert_no_secret ("the log", all);
}
