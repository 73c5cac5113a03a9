/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What counts as progress (daemon/progress-rule.c): 1 KiB within a minute; a
 * trickle of a few bytes a minute never does, however long it goes on.
 */
#include <glib.h>

#include "progress-rule.h"
#include "test-cases.h"

#define SEC G_USEC_PER_SEC

static void
test_fast (void)
{
        ProgressMeter m;

        progress_meter_reset (&m, 1000, 0);
        g_assert_false (progress_meter_update (&m, 1000 + 1, 1023));
        g_assert_true (progress_meter_update (&m, 1000 + 2, 1024));
        /* The next window starts at the progress just counted. */
        g_assert_false (progress_meter_update (&m, 1000 + 3, 2000));
        g_assert_true (progress_meter_update (&m, 1000 + 4, 2048));
        /* 1 KiB in 59 s is progress, at the 59th second. */
        g_assert_true (progress_meter_update (&m, 1000 + 59 * SEC, 3072));
}

/* 2.5 bytes a second for an hour: never progress. */
static void
test_trickle (void)
{
        ProgressMeter m;
        guint64 received = 0;

        progress_meter_reset (&m, 0, 0);
        for (guint64 t = 1; t <= 3600; t++) {
                received += t % 2 ? 2 : 3;
                g_assert_false (progress_meter_update (&m, t * SEC, received));
        }
}

/* 20 bytes a second: 1200 a minute, progress about every 52 s. */
static void
test_slow_but_moving (void)
{
        ProgressMeter m;
        guint progressed = 0;

        progress_meter_reset (&m, 0, 0);
        for (guint64 t = 1; t <= 600; t++)
                if (progress_meter_update (&m, t * SEC, t * 20))
                        progressed++;
        g_assert_cmpuint (progressed, >=, 10);
        g_assert_cmpuint (progressed, <=, 12);
}

/* A minute without 1 KiB ends the window: bytes from before it do not add up with later
 * ones into progress. */
static void
test_window_ends (void)
{
        ProgressMeter m;

        progress_meter_reset (&m, 0, 0);
        g_assert_false (progress_meter_update (&m, 30 * SEC, 1000));
        g_assert_false (progress_meter_update (&m, 61 * SEC, 1000));   /* a new window from here */
        g_assert_false (progress_meter_update (&m, 70 * SEC, 1100));
        g_assert_true (progress_meter_update (&m, 80 * SEC, 2024));
}

static void
test_backwards (void)
{
        ProgressMeter m;

        progress_meter_reset (&m, 100 * SEC, 5000);
        g_assert_false (progress_meter_update (&m, 50 * SEC, 9000));  /* the clock went back */
        g_assert_false (progress_meter_update (&m, 51 * SEC, 9100));
        g_assert_true (progress_meter_update (&m, 52 * SEC, 10024));
        g_assert_false (progress_meter_update (&m, 53 * SEC, 10));     /* a count that went back */
        g_assert_true (progress_meter_update (&m, 54 * SEC, 1034));
}

static void
test_low_speed_limit (void)
{
        g_assert_cmpint (progress_low_speed_limit (0), ==, 18);          /* ceil (1024 / 60) */
        g_assert_cmpint (progress_low_speed_limit (1000000), ==, 18);
        g_assert_cmpint (progress_low_speed_limit (36), ==, 18);
        g_assert_cmpint (progress_low_speed_limit (20), ==, 10);         /* half a limit below it */
        g_assert_cmpint (progress_low_speed_limit (2), ==, 1);
        g_assert_cmpint (progress_low_speed_limit (1), ==, 1);
}

const TestCase test_cases[] = {
        { "/progress-rule/fast", test_fast },
        { "/progress-rule/trickle", test_trickle },
        { "/progress-rule/slow-but-moving", test_slow_but_moving },
        { "/progress-rule/window-ends", test_window_ends },
        { "/progress-rule/backwards", test_backwards },
        { "/progress-rule/low-speed-limit", test_low_speed_limit },
        { NULL, NULL }
};
