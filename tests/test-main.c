/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main() of every test program that is only its tables of cases
 * (test-cases.h). meson.build links every unit test program with it as a static
 * library: the linker takes it only into a program without a main() of its own.
 * It is built twice: for the programs tests/meson.build lists with a table of
 * data cases (XFERD_TEST_DATA_CASES 1: test_data_cases is referenced as any
 * symbol, so one that is missing, static or misnamed does not link) and for the
 * others (0: a program that defines test_data_cases anyway fails the run, as
 * its cases would never run).
 */
#include "test-cases.h"

#ifndef XFERD_TEST_DATA_CASES
#error "tests/meson.build says whether the program has test_data_cases"
#endif

extern const TestCase test_cases[];
#if XFERD_TEST_DATA_CASES
extern const TestDataCase test_data_cases[];
#else
extern const TestDataCase test_data_cases[] __attribute__ ((weak));
#endif

int
main (int argc, char **argv)
{
        const TestDataCase *const data_cases = test_data_cases;

        if (!XFERD_TEST_DATA_CASES && data_cases) {
                g_printerr ("%s: defines test_data_cases, which tests/meson.build does not list for it\n", argv[0]);
                return 1;
        }
        g_test_init (&argc, &argv, NULL);
        test_add_cases (test_cases);
        if (XFERD_TEST_DATA_CASES)
                test_add_data_cases (data_cases);
        return g_test_run ();
}
