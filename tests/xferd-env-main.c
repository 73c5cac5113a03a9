/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main() of the integration test programs that are only their tables: test_cases and
 * test_data_cases (test-cases.h) as test-main.c runs them, and the environment cases,
 * test_env_cases (xferd-env.h). tests/meson.build compiles it into each such program with the
 * tables the program's entry lists (`tables`, XFERD_TEST_CASES, XFERD_TEST_DATA_CASES and
 * XFERD_TEST_ENV_CASES, 1 or 0). A listed table is referenced as any other symbol: when it is
 * missing, static or misnamed the program does not link. The others are looked for only to
 * fail a program that defines a table its entry leaves out, which would never run.
 */
#include "xferd-env.h"

#if !defined (XFERD_TEST_CASES) || !defined (XFERD_TEST_DATA_CASES) || !defined (XFERD_TEST_ENV_CASES)
#error "tests/meson.build gives every program built with this main() the tables it lists"
#endif

#if XFERD_TEST_CASES
extern const TestCase test_cases[];
#else
extern const TestCase test_cases[] __attribute__ ((weak));
#endif
#if XFERD_TEST_DATA_CASES
extern const TestDataCase test_data_cases[];
#else
extern const TestDataCase test_data_cases[] __attribute__ ((weak));
#endif
#if XFERD_TEST_ENV_CASES
extern const XferdEnvCases test_env_cases;
#else
extern const XferdEnvCases test_env_cases __attribute__ ((weak));
#endif

int
main (int argc, char **argv)
{
        static const char *const names[] = { "test_cases", "test_data_cases", "test_env_cases" };
        const gboolean listed[] = { XFERD_TEST_CASES, XFERD_TEST_DATA_CASES, XFERD_TEST_ENV_CASES };
        const void *const defined[] = { test_cases, test_data_cases, &test_env_cases };
        gboolean any = FALSE;

        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                if (!listed[i] && defined[i]) {
                        g_printerr ("%s: defines %s, which its entry in tests/meson.build does not list\n",
                                    argv[0], names[i]);
                        return 1;
                }
                any = any || listed[i];
        }
        if (!any) {
                g_printerr ("%s: its entry in tests/meson.build lists no table\n", argv[0]);
                return 1;
        }

        g_test_init (&argc, &argv, NULL);
        if (listed[0])
                test_add_cases (test_cases);
        if (listed[1])
                test_add_data_cases (test_data_cases);
        if (listed[2])
                xferd_env_add_cases (&test_env_cases);
        return g_test_run ();
}
