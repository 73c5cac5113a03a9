/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd.conf's values that are not plain numbers: sizes (MaxFileSize=) and the
 * free-space reserve (KeepFree=), and what a reserve keeps free on a file
 * system of a given size. Pure functions, no daemon.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "fsops.h"
#include "settings.h"
#include "test-cases.h"

static void
test_sizes (void)
{
        static const struct {
                const char *text;
                int r;
                guint64 bytes;
        } cases[] = {
                { "0", 0, 0 },
                { "1024", 0, 1024 },
                { "512K", 0, 512 * 1024 },
                { "10M", 0, 10 * 1024 * 1024 },
                { "2G", 0, G_GUINT64_CONSTANT (2) << 30 },
                { "1T", 0, G_GUINT64_CONSTANT (1) << 40 },
                { "", -EINVAL, 0 },
                { "M", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "1.5M", -ERANGE, 0 },
                { "10X", -ERANGE, 0 },
                { "20000000T", -ERANGE, 0 },          /* past 2^64 */
                { "18446744073709551615", 0, G_MAXUINT64 },
                { "18446744073709551616", -ERANGE, 0 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                uint64_t v = 4711;
                int r = settings_parse_size (cases[i].text, &v);

                g_test_message ("'%s'", cases[i].text);
                g_assert_cmpint (r, ==, cases[i].r);
                if (r == 0)
                        g_assert_cmpuint (v, ==, cases[i].bytes);
                else
                        g_assert_cmpuint (v, ==, 4711);
        }
}

static void
test_reserve_values (void)
{
        DiskReserve r;

        g_assert_cmpint (settings_parse_reserve ("5%", &r), ==, 0);
        g_assert_cmpuint (r.percent, ==, 5);
        g_assert_cmpuint (r.bytes, ==, 0);
        g_assert_cmpint (settings_parse_reserve ("100%", &r), ==, 0);
        g_assert_cmpuint (r.percent, ==, 100);
        g_assert_cmpint (settings_parse_reserve ("2M", &r), ==, 0);
        g_assert_cmpuint (r.bytes, ==, 2 * 1024 * 1024);
        g_assert_cmpuint (r.percent, ==, 0);
        g_assert_cmpint (settings_parse_reserve ("0", &r), ==, 0);
        g_assert_cmpuint (r.bytes, ==, 0);
        g_assert_cmpuint (r.percent, ==, 0);
        g_assert_cmpint (settings_parse_reserve ("101%", &r), <, 0);
        g_assert_cmpint (settings_parse_reserve ("%", &r), <, 0);
        g_assert_cmpint (settings_parse_reserve ("-5%", &r), <, 0);
        g_assert_cmpint (settings_parse_reserve ("5%%", &r), <, 0);
}

static void
test_reserve_bytes (void)
{
        const DiskReserve none = { 0 }, bytes = { .bytes = 1000 }, percent = { .percent = 5 };
        const DiskReserve both = { .bytes = G_GUINT64_CONSTANT (1) << 30, .percent = 5 };

        g_assert_cmpuint (disk_reserve_bytes (&none, 1000000), ==, 0);
        g_assert_cmpuint (disk_reserve_bytes (&bytes, 1000000), ==, 1000);
        g_assert_cmpuint (disk_reserve_bytes (&bytes, 10), ==, 1000);
        g_assert_cmpuint (disk_reserve_bytes (&percent, 1000000), ==, 50000);
        g_assert_cmpuint (disk_reserve_bytes (&percent, 256 * 1024), ==, 13107);
        /* No overflow near 2^64. */
        g_assert_cmpuint (disk_reserve_bytes (&percent, G_MAXUINT64), ==, G_MAXUINT64 / 100 * 5 + G_MAXUINT64 % 100 * 5 / 100);
        /* The default: the smaller of 1 GiB and 5 %. */
        g_assert_cmpuint (disk_reserve_bytes (&both, G_GUINT64_CONSTANT (10) << 30), ==, (G_GUINT64_CONSTANT (10) << 30) / 20);
        g_assert_cmpuint (disk_reserve_bytes (&both, G_GUINT64_CONSTANT (100) << 30), ==, G_GUINT64_CONSTANT (1) << 30);
}

static void
test_load (void)
{
        g_autofree char *dir = g_dir_make_tmp ("xferd-settings-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "xferd.conf", NULL);
        DaemonSettings s = { 0 };

        settings_manager_defaults (&s.manager);
        g_assert_cmpuint (s.manager.max_file_size, ==, 0);
        g_assert_cmpuint (s.manager.keep_free.bytes, ==, G_GUINT64_CONSTANT (1) << 30);
        g_assert_cmpuint (s.manager.keep_free.percent, ==, 5);

        g_assert_true (g_file_set_contents (path, "[Daemon]\nMaxFileSize=3G\nKeepFree=10%\n", -1, NULL));
        g_assert_cmpint (settings_load (path, &s), ==, 0);
        g_assert_cmpuint (s.manager.max_file_size, ==, G_GUINT64_CONSTANT (3) << 30);
        g_assert_cmpuint (s.manager.keep_free.percent, ==, 10);
        g_assert_cmpuint (s.manager.keep_free.bytes, ==, 0);

        g_assert_true (g_file_set_contents (path, "[Daemon]\nKeepFree=lots\n", -1, NULL));
        g_assert_cmpint (settings_load (path, &s), <, 0);
        g_unlink (path);
        g_rmdir (dir);
}

/* Where a key's value must land: the field's place and size in DaemonSettings. */
#define FIELD(member) G_STRUCT_OFFSET (DaemonSettings, member), sizeof (((DaemonSettings *) 0)->member)

/* Every numeric key of [Daemon] sets its own field and nothing else, in its unit, and refuses
 * what it must: past its maximum, 0 where 0 means nothing, and words. */
static void
test_numeric_keys (void)
{
        const guint64 sec = G_USEC_PER_SEC;
        const struct {
                const char *line;
                gsize offset, size;
                guint64 value;
        } cases[] = {
                { "IdleTimeoutSec=4294967295", FIELD (idle_timeout_usec), G_MAXUINT32 * sec },
                { "RetentionSec=12", FIELD (manager.retention_usec), 12 * sec },
                { "MaxBackgroundTransfers=1024", FIELD (manager.max_background_transfers), 1024 },
                { "BackgroundBandwidthLimit=18446744073709551615", FIELD (manager.background_bandwidth_limit),
                  G_MAXUINT64 },
                { "MaxJobsPerUser=15", FIELD (manager.max_jobs_per_user), 15 },
                { "MaxJobs=4294967295", FIELD (manager.max_jobs), G_MAXUINT32 },
                { "MaxFilesPerJob=17", FIELD (manager.max_files_per_job), 17 },
                { "JobInactivityTimeoutDays=36500", FIELD (manager.job_inactivity_usec),
                  G_GUINT64_CONSTANT (36500) * 86400 * sec },
                { "JobInactivityTimeoutSec=7", FIELD (manager.job_inactivity_usec), 7 * sec },
                { "StallTimeoutSec=19", FIELD (manager.transfer.stall_timeout_usec), 19 * sec },
                { "TimeSliceSec=86400", FIELD (manager.time_slice_usec), 86400 * sec },
                { "MaxHttpHeaders=21", FIELD (manager.max_http_headers), 21 },
                { "MaxHttpHeaderBytes=22", FIELD (manager.max_http_header_bytes), 22 },
                { "MaxHttpHeaderBytesPerUser=23", FIELD (manager.max_http_header_bytes_per_user), 23 },
                { "MaxForegroundTransfersPerUser=0", FIELD (manager.max_foreground_transfers_per_user), 0 },
        };
        static const char *const refused[] = {
                "MaxBackgroundTransfers=0", "MaxBackgroundTransfers=1025", "StallTimeoutSec=0",
                "StallTimeoutSec=86401", "TimeSliceSec=0", "JobInactivityTimeoutSec=0",
                "JobInactivityTimeoutDays=36501", "IdleTimeoutSec=4294967296", "MaxJobs=4294967296",
                "MaxForegroundTransfersPerUser=1025", "RetentionSec=-1", "MaxJobs=many", "MaxJobs=",
        };
        g_autofree char *dir = g_dir_make_tmp ("xferd-settings-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "xferd.conf", NULL);
        DaemonSettings s, want;

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                guint32 v32 = (guint32) cases[i].value;

                g_test_message ("%s", cases[i].line);
                memset (&s, 0xa5, sizeof s);
                memcpy (&want, &s, sizeof s);
                g_assert_true (cases[i].size == sizeof v32 || cases[i].size == sizeof cases[i].value);
                memcpy ((char *) &want + cases[i].offset,
                        cases[i].size == sizeof v32 ? (const void *) &v32 : (const void *) &cases[i].value,
                        cases[i].size);
                g_assert_true (g_file_set_contents (path, cases[i].line, -1, NULL));
                g_assert_cmpint (settings_load (path, &s), ==, 0);
                g_assert_true (memcmp (&s, &want, sizeof s) == 0);
        }

        for (gsize i = 0; i < G_N_ELEMENTS (refused); i++) {
                g_test_message ("%s", refused[i]);
                memset (&s, 0xa5, sizeof s);
                memcpy (&want, &s, sizeof s);
                g_assert_true (g_file_set_contents (path, refused[i], -1, NULL));
                g_assert_cmpint (settings_load (path, &s), <, 0);
                g_assert_true (memcmp (&s, &want, sizeof s) == 0);
        }
        g_unlink (path);
        g_rmdir (dir);
}

const TestCase test_cases[] = {
        { "/settings/sizes", test_sizes },
        { "/settings/reserve-values", test_reserve_values },
        { "/settings/reserve-bytes", test_reserve_bytes },
        { "/settings/load", test_load },
        { "/settings/numeric-keys", test_numeric_keys },
        { NULL, NULL }
};
