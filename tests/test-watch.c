/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a person watching a job sees (issue: watchable jobs): Rate against a
 * throttled server, Rate and ExpectedEndTime of a suspended job,
 * NextRetryTime against the moment the next request really comes
 * (foreground backoff, background rule, Retry-After), every WaitReason token,
 * and MinimumNotificationInterval bounding the progress signals. The server's
 * throttle and the daemon's retry base are the only clocks; waits are on
 * signals and requests, with timeouts.
 */
#include <string.h>

#include "test-cases.h"
#include "xferd-env.h"

#define S G_USEC_PER_SEC
#define THROTTLE (256 * 1024)
#define BIG (8 * 1024 * 1024)

static const char *const fast_retries[] = { "--foreground-retry-base=1", NULL };

static gboolean
job_property_is (BusFixture *fx, const char *job, const char *name, const char *value)
{
        return bus_wait_property (fx, job, XFERD_JOB_IFACE, name, g_variant_new_string (value), WAIT_TIMEOUT_MS);
}

/* CreateJob with a priority, one file, MinimumRetryDelay, Resume. */
static char *
start_job (XferdEnv *env, const char *priority, const char *url, const char *dest, guint32 retry_delay,
           guint32 notify_ms)
{
        char *job = xferd_create_job_with (env->fx, "watched", NULL, "priority", priority, NULL);

        if (retry_delay)
                job_set (env->fx, job, "MinimumRetryDelay", g_variant_new_uint32 (retry_delay));
        if (notify_ms)
                job_set (env->fx, job, "MinimumNotificationInterval", g_variant_new_uint32 (notify_ms));
        xferd_add_file (env->fx, job, url, dest);
        xferd_job_call (env->fx, job, "Resume");
        return job;
}

/* Waits for a PropertiesChanged of the job with BytesTransferred >= bytes. */
static void
wait_bytes (XferdEnv *env, const char *job, guint64 bytes)
{
        g_assert_true (job_wait_changed_uint64 (env->fx, job, "BytesTransferred", bytes, G_MAXUINT64,
                                                WAIT_TIMEOUT_MS));
}

/* Rate follows the server's pace; ExpectedEndTime is when the rest would take at it. */
static void
test_rate (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/big.bin", BIG);

        http_server_set_rate (env->http, "/big.bin", THROTTLE);
        g_autofree char *job = start_job (env, "foreground", env->url, env->dest, 0, 0);
        job_wait_state (env->fx, job, "transferring");
        /* Three seconds of bytes at the throttle. */
        wait_bytes (env, job, 3 * THROTTLE);

        guint64 rate = job_get_uint64 (env->fx, job, "Rate");
        g_test_message ("Rate %" G_GUINT64_FORMAT " B/s, throttle %d B/s", rate, THROTTLE);
        g_assert_cmpuint (rate, >=, THROTTLE * 7 / 10);
        g_assert_cmpuint (rate, <=, THROTTLE * 13 / 10);

        guint64 end = job_get_uint64 (env->fx, job, "ExpectedEndTime");
        guint64 done = job_get_uint64 (env->fx, job, "BytesTransferred");
        gint64 now = g_get_real_time ();
        gint64 left = (gint64) ((BIG - done) * S / THROTTLE);
        g_test_message ("ExpectedEndTime in %.1f s, at the throttle %.1f s", (double) ((gint64) end - now) / S,
                        (double) left / S);
        g_assert_cmpint ((gint64) end - now, >=, left * 6 / 10);
        g_assert_cmpint ((gint64) end - now, <=, left * 14 / 10);
        g_autofree char *reason = job_get_string (env->fx, job, "WaitReason");
        g_assert_cmpstr (reason, ==, "");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "CurrentFile"), ==, 0);

        /* Suspended: no rate, no end, and the reason. */
        xferd_job_call (env->fx, job, "Suspend");
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "Rate"), ==, 0);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "ExpectedEndTime"), ==, 0);
        g_assert_true (job_property_is (env->fx, job, "WaitReason", "suspended"));

        /* Back to transferring: the run starts afresh, nothing of before counts. Right
         * after the restart there is too little history for a rate. */
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferring");
        guint64 again = job_get_uint64 (env->fx, job, "Rate");
        g_assert_cmpuint (again, <=, THROTTLE * 13 / 10);
        xferd_job_call (env->fx, job, "Cancel");
}

/* The offset that turns a realtime µs value into the monotonic clock the
 * server stamps requests with. */
static gint64
realtime_to_monotonic (gint64 realtime)
{
        return realtime - (g_get_real_time () - g_get_monotonic_time ());
}

/* Request `index` failed with a 503: NextRetryTime is within a second of the
 * request that follows. Before that one comes, the server is told how to
 * answer it: another 503 (with Retry-After then_retry_after, < 0 none) or
 * the file. Returns the delay NextRetryTime announced. */
static gint64
check_next_retry (XferdEnv *env, const char *job, guint index, gboolean then_fail, int then_retry_after)
{
        g_assert_true (http_server_wait_requests (env->http, "/file.bin", index + 1, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, job, "transient-error");
        guint64 next = job_get_uint64 (env->fx, job, "NextRetryTime");
        g_assert_cmpuint (next, >, 0);
        gint64 expected = realtime_to_monotonic ((gint64) next);
        gint64 failed_at = http_server_request_time (env->http, "/file.bin", index);
        g_assert_true (job_property_is (env->fx, job, "WaitReason", "retry-delay"));
        if (then_fail)
                http_server_fail (env->http, "/file.bin", 503, NULL, then_retry_after, 1);

        g_assert_true (http_server_wait_requests (env->http, "/file.bin", index + 2, WAIT_TIMEOUT_MS));
        gint64 actual = http_server_request_time (env->http, "/file.bin", index + 1);
        g_test_message ("after failure %u: NextRetryTime %+.3f s off the retry, which came %.3f s after it",
                        index + 1, (double) (expected - actual) / S, (double) (actual - failed_at) / S);
        g_assert_cmpint (ABS (expected - actual), <, S);
        return expected - failed_at;
}

/* One failed attempt of a next-retry case: how the server answers the attempt that
 * follows (then_fail, then_retry_after as for check_next_retry()) and the bounds of the
 * delay NextRetryTime announced, in half seconds (0: no bound). */
typedef struct {
        gboolean then_fail;
        int then_retry_after;
        int min_half_s, below_half_s;
} RetryStep;

typedef struct {
        const char *priority;
        guint32 retry_delay;            /* MinimumRetryDelay */
        RetryStep steps[3];
        gboolean check_log;             /* the foreground backoff: "retrying in 1 s" twice, "2 s" once */
} NextRetryCase;

/* Foreground: backoff from --foreground-retry-base (1 s here), doubling; a
 * Retry-After shorter than the backoff is honoured. */
static const NextRetryCase next_retry_foreground = {
        "foreground", 600,
        {
                { TRUE, -1, 0, 3 },     /* 1 s, not MinimumRetryDelay */
                { TRUE, 1, 3, 0 },      /* doubled: 2 s; the next failure says Retry-After: 1 */
                { FALSE, -1, 0, 3 },    /* shorter than the 4 s backoff: honoured */
        },
        TRUE,
};

/* Background: MinimumRetryDelay or Retry-After, whichever is later. */
static const NextRetryCase next_retry_background = {
        "normal", 2,
        {
                { TRUE, 1, 3, 0 },      /* 2 s: no foreground backoff */
                { TRUE, 3, 3, 0 },      /* Retry-After: 1, shorter than MinimumRetryDelay: the delay wins */
                { FALSE, -1, 5, 0 },    /* Retry-After: 3, longer: it wins */
        },
        FALSE,
};

static void
test_next_retry (gconstpointer data)
{
        const NextRetryCase *c = data;
        BusFixtureOptions options = { .extra_args = fast_retries };
        g_autoptr(XferdEnv) env = xferd_env_new_logged (&options);

        xferd_env_serve (env, "/file.bin", 4096);
        http_server_fail (env->http, "/file.bin", 503, NULL, -1, 1);
        g_autofree char *job = start_job (env, c->priority, env->url, env->dest, c->retry_delay, 0);
        for (guint i = 0; i < G_N_ELEMENTS (c->steps); i++) {
                const RetryStep *step = &c->steps[i];
                gint64 delay = check_next_retry (env, job, i, step->then_fail, step->then_retry_after);
                if (step->min_half_s)
                        g_assert_cmpint (delay, >=, step->min_half_s * S / 2);
                if (step->below_half_s)
                        g_assert_cmpint (delay, <, step->below_half_s * S / 2);
        }
        job_wait_state (env->fx, job, "transferred");
        if (!c->check_log)
                return;

        /* Every failed attempt logged once, with its delay. */
        g_assert_true (xferd_log_wait (env->log, "retrying in", 3, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (xferd_log_count (env->log, "retrying in"), ==, 3);
        g_assert_cmpuint (xferd_log_count (env->log, "retrying in 1 s"), ==, 2);
        g_assert_cmpuint (xferd_log_count (env->log, "retrying in 2 s"), ==, 1);
}

/* Every WaitReason token, each from the situation it names. */
static void
test_wait_reasons (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 1024 * 1024);
        g_autofree char *d1 = xferd_env_path (env, "a"), *d2 = xferd_env_path (env, "b");
        g_autofree char *d3 = xferd_env_path (env, "c"), *d4 = xferd_env_path (env, "d");
        g_autofree char *d5 = xferd_env_path (env, "e");

        /* suspended: made but not resumed. */
        g_autofree char *idle = xferd_create_job (env->fx, "idle", NULL);
        xferd_add_file (env->fx, idle, env->url, d5);
        g_assert_true (job_property_is (env->fx, idle, "WaitReason", "suspended"));

        /* max-transfers and higher-priority: one background slot, taken. */
        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (1));
        http_server_stall_after (env->http, "/file.bin", 64 * 1024);
        g_autofree char *running = start_job (env, "normal", env->url, d1, 0, 0);
        job_wait_state (env->fx, running, "transferring");
        g_autofree char *same = start_job (env, "normal", env->url, d2, 0, 0);
        g_assert_true (job_property_is (env->fx, same, "WaitReason", "max-transfers"));
        g_autofree char *lower = start_job (env, "low", env->url, d3, 0, 0);
        g_assert_true (job_property_is (env->fx, lower, "WaitReason", "higher-priority"));
        assert_job_string (env->fx, running, "WaitReason", "");

        /* bandwidth-limit: 1 byte a second leaves the transfer waiting after its first chunk. */
        http_server_release (env->http, "/file.bin");
        g_autofree char *slow = xferd_create_job (env->fx, "slow", NULL);
        job_set (env->fx, slow, "Priority", g_variant_new_string ("foreground"));
        job_set (env->fx, slow, "BandwidthLimit", g_variant_new_uint64 (1));
        xferd_add_file (env->fx, slow, env->url, d4);
        xferd_job_call (env->fx, slow, "Resume");
        g_assert_true (job_property_is (env->fx, slow, "WaitReason", "bandwidth-limit"));
        g_assert_true (job_property_is (env->fx, slow, "State", "transferring"));
}

static void
test_wait_reasons_retry (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 4096);
        g_autofree char *d1 = xferd_env_path (env, "a"), *d2 = xferd_env_path (env, "b");

        /* retry-delay: the server answers 503. */
        http_server_fail (env->http, "/file.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *busy = start_job (env, "foreground", env->url, d1, 600, 0);
        g_assert_true (job_property_is (env->fx, busy, "WaitReason", "retry-delay"));

        /* no-network: nothing listens on the port. */
        g_autoptr(HttpServer) gone = http_server_new ();
        g_autofree char *dead = http_server_url (gone, "/x");
        g_clear_pointer (&gone, http_server_free);
        g_autofree char *offline = start_job (env, "foreground", dead, d2, 600, 0);
        g_assert_true (job_property_is (env->fx, offline, "WaitReason", "no-network"));
        g_assert_cmpuint (job_get_uint64 (env->fx, offline, "NextRetryTime"), >, (guint64) g_get_real_time ());
}

static gboolean
match_progress_only (const RecordedSignal *sig, gpointer data)
{
        const char *job = data;
        g_autoptr(GVariant) props = NULL;
        guint64 v;

        if (g_strcmp0 (sig->path, job) != 0)
                return FALSE;
        props = g_variant_get_child_value (sig->params, 1);
        const char *state;

        return g_variant_lookup (props, "BytesTransferred", "t", &v) && !g_variant_lookup (props, "State", "&s", &state);
}

/* Progress signals of a job: the count over a transfer of known length. */
static guint
count_progress_signals (XferdEnv *env, guint32 interval_ms, gint64 *ret_elapsed)
{
        g_autofree char *dest = xferd_env_path (env, interval_ms == 2000 ? "slow-told" : "often-told");
        gint64 start = g_get_monotonic_time ();
        g_autofree char *job = start_job (env, "foreground", env->url, dest, 0, interval_ms);

        job_wait_state (env->fx, job, "transferred");
        *ret_elapsed = g_get_monotonic_time () - start;
        return bus_count_signals (env->fx, job, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                  match_progress_only, job);
}

/* MinimumNotificationInterval bounds the progress signals of a job. */
static void
test_notification_interval (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 4 * THROTTLE);
        gint64 elapsed_slow, elapsed_often;

        http_server_set_rate (env->http, "/file.bin", THROTTLE);
        guint slow = count_progress_signals (env, 2000, &elapsed_slow);
        guint often = count_progress_signals (env, 250, &elapsed_often);
        g_test_message ("2000 ms: %u progress signals in %.1f s; 250 ms: %u in %.1f s", slow,
                        (double) elapsed_slow / S, often, (double) elapsed_often / S);
        g_assert_cmpuint (slow, <=, elapsed_slow / (2 * S) + 1);
        g_assert_cmpuint (often, <=, elapsed_often / (S / 4) + 1);
        g_assert_cmpuint (often, >, slow);
}

const TestCase test_cases[] = {
        { "/watch/rate", test_rate },
        { "/watch/wait-reasons", test_wait_reasons },
        { "/watch/wait-reasons-retry", test_wait_reasons_retry },
        { "/watch/notification-interval", test_notification_interval },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/watch/next-retry-foreground", test_next_retry, &next_retry_foreground },
        { "/watch/next-retry-background", test_next_retry, &next_retry_background },
        { NULL, NULL, NULL }
};
