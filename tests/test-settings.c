/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd.conf's values that are not plain numbers: sizes (MaxFileSize=) and the
 * free-space reserve (KeepFree=), and what a reserve keeps free on a file
 * system of a given size. Pure functions, no daemon.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>

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

static const TestCase test_cases[] = {
        { "/settings/sizes", test_sizes },
        { "/settings/reserve-values", test_reserve_values },
        { "/settings/reserve-bytes", test_reserve_bytes },
        { "/settings/load", test_load },
        { NULL, NULL }
};

int
main (int argc, char **argv)
{
        return test_main (argc, argv, test_cases);
}
