/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main() of the integration test programs that are only their tables: test_cases and
 * test_data_cases (test-cases.h) as test-main.c runs them, and the environment cases,
 * test_env_cases (xferd-env.h); a program defines those it has. It is a member of the test
 * library, which programs link instead of test-main.c's: the linker takes it only into a
 * program without a main() of its own.
 */
#include "xferd-env.h"

extern const TestCase test_cases[] __attribute__ ((weak));
extern const TestDataCase test_data_cases[] __attribute__ ((weak));
extern const XferdEnvCases test_env_cases __attribute__ ((weak));

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        /* The tables are weak: a program whose table is misnamed or static would link and
         * pass with nothing run. */
        if (!test_cases && !test_data_cases && !&test_env_cases) {
                g_printerr ("%s: no test_cases, test_data_cases or test_env_cases defined\n", argv[0]);
                return 1;
        }
        if (test_cases)
                test_add_cases (test_cases);
        if (test_data_cases)
                test_add_data_cases (test_data_cases);
        if (&test_env_cases)
                xferd_env_add_cases (&test_env_cases);
        return g_test_run ();
}
