/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferctl on a pseudo-terminal, as a person sees it: the progress line
 * (bar, percentage, a rate and an ETA; redrawn in place, never wider than
 * the terminal), the line that says why a job waits and when it retries,
 * and Ctrl-C from there. Waits are on the text appearing, with timeouts.
 */
#include <signal.h>
#include <string.h>

#include "test-cases.h"
#include "xferctl-run.h"

#define BIG (6 * 1024 * 1024)

/* The last redraw of the line: the text after the last \r before offset. */
static char *
last_line (const char *output)
{
        const char *cr = strrchr (output, '\r');
        const char *start = cr ? cr + 1 : output;

        return g_strndup (start, strcspn (start, "\r\n\033"));
}

/* The bar under a limited rate: percentage, sizes, a rate and an ETA; the
 * rate is the limit's (the daemon's token bucket), within a third. */
static void
test_progress_line (XferdEnv *env)
{
        g_autoptr(GBytes) big = http_server_add_generated (env->http, "/big.bin", BIG);
        g_autofree char *url = http_server_url (env->http, "/big.bin");
        gsize from = 0;

        g_autoptr(PtyProcess) p = xferctl_pty (env, 100, "download", "--limit-rate", "1M", url, "-o", env->dir, NULL);
        g_assert_true (pty_process_wait_output (p, &from, "ETA ", WAIT_TIMEOUT_MS));
        /* Whole redraws after the first ETA, up to one at 40 % or more: the token bucket's
         * first burst weighs on the rate of the first second (1.3 MiB/s on a quiet machine,
         * 1.5 under ASan on a busy one), not on that of the first two. */
        g_autofree char *line = NULL;
        do {
                g_assert_true (pty_process_wait_output (p, &from, "\033[K", WAIT_TIMEOUT_MS));
                g_assert_true (pty_process_wait_output (p, &from, "\r", WAIT_TIMEOUT_MS));
                g_assert_true (pty_process_wait_output (p, &from, "\033[K", WAIT_TIMEOUT_MS));
                g_autofree char *upto = g_strndup (pty_process_output (p), from);
                g_free (line);
                line = last_line (upto);
                g_test_message ("line: \"%s\"", line);
        } while (strstr (line, "]") && g_ascii_strtoull (strstr (line, "]") + 1, NULL, 10) < 40);
        g_assert_true (g_str_has_prefix (line, "["));
        g_assert_nonnull (strstr (line, "%"));
        g_assert_nonnull (strstr (line, " / 6.0 MiB"));
        g_assert_cmpuint (g_utf8_strlen (line, -1), <, 100);
        const char *rate = strstr (line, "KiB/s");
        if (!rate)
                rate = strstr (line, "MiB/s");
        g_assert_nonnull (rate);
        /* "1.0 MiB/s" or "1010 KiB/s": the number before the unit. */
        const char *num = rate - 2;
        while (num > line && (g_ascii_isdigit (num[-1]) || num[-1] == '.'))
                num--;
        double value = g_ascii_strtod (num, NULL) * (g_str_has_prefix (rate, "MiB") ? 1024 : 1);
        g_test_message ("rate %.0f KiB/s", value);
        g_assert_cmpfloat (value, >, 1024 * 0.67);
        g_assert_cmpfloat (value, <, 1024 * 1.33);

        /* Ctrl-C on the terminal: the line goes, the job is cancelled, 130. */
        pty_process_send_signal (p, SIGINT);
        g_assert_cmpint (pty_process_wait_exit (p, WAIT_TIMEOUT_MS), ==, XFERCTL_EXIT_SIGINT);
        g_assert_nonnull (strstr (pty_process_output (p), "Cancelled; the partial file was removed."));
        g_assert_true (xferctl_no_jobs (env));
}

/* A server that answers 503: the line says which retry comes and why. */
static void
test_retry_line (XferdEnv *env)
{
        gsize from = 0;

        http_server_fail (env->http, "/file.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        g_autoptr(PtyProcess) p = xferctl_pty (env, 120, "download", "--retry-delay", "30", env->url, env->dest, NULL);
        /* From NextRetryTime: a foreground job retries first after 5 s. */
        g_assert_true (pty_process_wait_output (p, &from, "retry 1 in ", WAIT_TIMEOUT_MS));
        g_assert_true (pty_process_wait_output (p, &from, "s: HTTP 503", WAIT_TIMEOUT_MS));

        pty_process_send_signal (p, SIGINT);
        g_assert_cmpint (pty_process_wait_exit (p, WAIT_TIMEOUT_MS), ==, XFERCTL_EXIT_SIGINT);
        g_assert_true (xferctl_no_jobs (env));
}

/* A background download behind a full slot says so, with the limit. */
static void
test_waiting_line (XferdEnv *env)
{
        g_autofree char *first = xferd_env_path (env, "first.bin");
        gsize from = 0;

        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (1));
        http_server_stall_after (env->http, "/file.bin", 1024);
        g_autofree char *running = xferd_download (env->fx, env->url, first, FALSE, NULL);
        job_wait_state (env->fx, running, "transferring");

        g_autoptr(PtyProcess) p = xferctl_pty (env, 120, "download", "--priority", "normal", env->url, env->dest, NULL);
        g_assert_true (pty_process_wait_output (p, &from, "waiting: 1 transfer running (MaxBackgroundTransfers=1)",
                                                WAIT_TIMEOUT_MS));
        /* The slot frees: it runs and completes. */
        xferd_job_call (env->fx, running, "Cancel");
        http_server_release (env->http, "/file.bin");
        g_assert_cmpint (pty_process_wait_exit (p, WAIT_TIMEOUT_MS), ==, 0);
        assert_file_content (env->dest, env->content);
}

/* Several files: the line names the one being transferred. */
static void
test_several_files_line (XferdEnv *env)
{
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/second.bin", 300 * 1024);
        g_autofree char *url_b = http_server_url (env->http, "/second.bin");
        gsize from = 0;

        http_server_stall_after (env->http, "/second.bin", 1024);
        g_autoptr(PtyProcess) p = xferctl_pty (env, 100, "download", env->url, url_b, "-o", env->dir, NULL);
        g_assert_true (pty_process_wait_output (p, &from, "file 2/2: second.bin", WAIT_TIMEOUT_MS));
        http_server_release (env->http, "/second.bin");
        g_assert_cmpint (pty_process_wait_exit (p, WAIT_TIMEOUT_MS), ==, 0);
        g_autofree char *second = xferd_env_path (env, "second.bin");
        assert_file_content (second, b);
}

/* xferd on a terminal: its log lines without the "<6>" a log collector reads. */
static void
test_daemon_log_on_terminal (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *state = bus_fixture_mkdir (env->fx, "manual-state");
        g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", state);
        const char *argv[] = { xferd_binary (), "--user", "--log-level=debug", "--idle-timeout=1",
                               state_arg, NULL };

        g_autoptr(PtyProcess) p = pty_process_spawn (env->fx, argv, 100);
        g_assert_true (pty_process_wait_output (p, NULL, "xferd: ", WAIT_TIMEOUT_MS));
        g_assert_cmpint (pty_process_wait_exit (p, WAIT_TIMEOUT_MS), ==, 0);
        g_test_message ("%s", pty_process_output (p));
        g_assert_null (strstr (pty_process_output (p), "<7>"));
        g_assert_null (strstr (pty_process_output (p), "<6>"));
}

static const XferdEnvCase env_cases[] = {
        { "/xferctl-term/progress-line", test_progress_line, NULL },
        { "/xferctl-term/retry-line", test_retry_line, NULL },
        { "/xferctl-term/several-files", test_several_files_line, NULL },
        { "/xferctl-term/waiting-line", test_waiting_line, NULL },
        { NULL, NULL, NULL }
};

const TestCase test_cases[] = {
        { "/xferctl-term/daemon-log", test_daemon_log_on_terminal },
        { NULL, NULL }
};

const XferdEnvCases test_env_cases = { xferctl_env_make, env_cases };
