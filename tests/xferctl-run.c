/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xferctl-run.h"

XferdEnv *
xferctl_env_new (const BusFixtureOptions *options)
{
        return xferd_env_new_serving (options, "/file.bin", XFERCTL_SIZE);
}

gboolean
xferctl_skip (void)
{
        if (g_getenv ("XFERCTL_BINARY"))
                return FALSE;
        g_test_skip ("XFERCTL_BINARY is not set");
        return TRUE;
}

XferdEnv *
xferctl_env_make (gconstpointer options)
{
        return xferctl_skip () ? NULL : xferctl_env_new (options);
}

static GPtrArray *
xferctl_argv (XferdEnv *env, const char *const *args)
{
        const char *binary = g_getenv ("XFERCTL_BINARY");
        GPtrArray *argv = g_ptr_array_new ();

        if (!binary)
                g_error ("XFERCTL_BINARY is not set (run the tests with meson test, or check xferctl_skip())");
        g_ptr_array_add (argv, (gpointer) binary);
        g_ptr_array_add (argv, (gpointer) (env->fx->system_bus ? "--system" : "--user"));
        for (guint i = 0; args[i]; i++)
                g_ptr_array_add (argv, (gpointer) args[i]);
        g_ptr_array_add (argv, NULL);
        return argv;
}

int
xferctl_runv (XferdEnv *env, const char *const *args, char **out, char **err)
{
        g_autoptr(GPtrArray) argv = xferctl_argv (env, args);

        /* bus_fixture_run() logs the command line, its exit status and what it wrote. */
        return bus_fixture_run (env->fx, (const char *const *) argv->pdata, out, err);
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
xferctl_run (XferdEnv *env, char **out, char **err, ...)
{
        va_list ap;

        va_start (ap, err);
        g_autoptr(GPtrArray) args = collect (ap);
        va_end (ap);
        return xferctl_runv (env, (const char *const *) args->pdata, out, err);
}

PtyProcess *
xferctl_pty (XferdEnv *env, guint cols, ...)
{
        va_list ap;

        va_start (ap, cols);
        g_autoptr(GPtrArray) args = collect (ap);
        va_end (ap);
        g_autoptr(GPtrArray) argv = xferctl_argv (env, (const char *const *) args->pdata);
        return pty_process_spawn (env->fx, (const char *const *) argv->pdata, cols);
}

gboolean
xferctl_no_jobs (XferdEnv *env)
{
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);

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
