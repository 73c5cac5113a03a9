/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xferctl-env.h"

XferctlEnv *
xferctl_env_new (const BusFixtureOptions *options)
{
        XferctlEnv *env = g_new0 (XferctlEnv, 1);

        env->fx = bus_fixture_new (options);
        env->http = http_server_new ();
        env->content = http_server_add_generated (env->http, "/file.bin", XFERCTL_SIZE);
        env->dir = bus_fixture_mkdir (env->fx, "dl");
        env->dest = g_build_filename (env->dir, "file.bin", NULL);
        env->url = http_server_url (env->http, "/file.bin");
        return env;
}

void
xferctl_env_free (XferctlEnv *env)
{
        http_server_free (env->http);
        bus_fixture_free (env->fx);
        g_bytes_unref (env->content);
        g_free (env->dir);
        g_free (env->dest);
        g_free (env->url);
        g_free (env);
}

gboolean
xferctl_skip (void)
{
        if (g_getenv ("XFERCTL_BINARY"))
                return FALSE;
        g_test_skip ("XFERCTL_BINARY is not set");
        return TRUE;
}

static GPtrArray *
xferctl_argv (const char *const *args)
{
        GPtrArray *argv = g_ptr_array_new ();

        g_ptr_array_add (argv, (gpointer) g_getenv ("XFERCTL_BINARY"));
        g_ptr_array_add (argv, (gpointer) "--user");
        for (guint i = 0; args[i]; i++)
                g_ptr_array_add (argv, (gpointer) args[i]);
        g_ptr_array_add (argv, NULL);
        return argv;
}

int
xferctl_runv (XferctlEnv *env, const char *const *args, char **out, char **err)
{
        g_autoptr(GPtrArray) argv = xferctl_argv (args);
        g_autofree char *o = NULL, *e = NULL;
        int status = bus_fixture_run (env->fx, (const char *const *) argv->pdata, &o, &e);

        g_test_message ("xferctl %s: exit %d\nstdout: %s\nstderr: %s",
                        args[0] ? args[0] : "", status, o, e);
        if (out)
                *out = g_steal_pointer (&o);
        if (err)
                *err = g_steal_pointer (&e);
        return status;
}

static GPtrArray *
collect (va_list ap)
{
        GPtrArray *args = g_ptr_array_new ();
        const char *arg;

        while ((arg = va_arg (ap, const char *)))
                g_ptr_array_add (args, (gpointer) arg);
        g_ptr_array_add (args, NULL);
        return args;
}

int
xferctl_run (XferctlEnv *env, char **out, char **err, ...)
{
        va_list ap;

        va_start (ap, err);
        g_autoptr(GPtrArray) args = collect (ap);
        va_end (ap);
        return xferctl_runv (env, (const char *const *) args->pdata, out, err);
}

PtyProcess *
xferctl_pty (XferctlEnv *env, guint cols, ...)
{
        va_list ap;

        va_start (ap, cols);
        g_autoptr(GPtrArray) args = collect (ap);
        va_end (ap);
        g_autoptr(GPtrArray) argv = xferctl_argv ((const char *const *) args->pdata);
        return pty_process_spawn (env->fx, (const char *const *) argv->pdata, cols);
}

gboolean
xferctl_no_jobs (XferctlEnv *env)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "ListJobs", g_variant_new ("(b)", FALSE),
                                                      G_VARIANT_TYPE ("(a(ssssutto))"), &error);
        g_autoptr(GVariant) jobs = NULL;

        g_assert_no_error (error);
        jobs = g_variant_get_child_value (reply, 0);
        return g_variant_n_children (jobs) == 0;
}

JsonNode *
xferctl_parse_json (const char *text)
{
        g_autoptr(JsonParser) parser = json_parser_new ();
        g_autoptr(GError) error = NULL;

        if (!json_parser_load_from_data (parser, text, -1, &error))
                g_test_message ("not JSON: %s", text);
        g_assert_no_error (error);
        g_assert_nonnull (json_parser_get_root (parser));
        return json_node_copy (json_parser_get_root (parser));
}
