/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main() of every test program that is only its tables of cases
 * (test-cases.h). meson.build links every test program with it as a static
 * library: the linker takes it only into a program without a main() of its own.
 */
#include "test-cases.h"

/* The program's cases; test_data_cases is weak: a program without cases that take data
 * need not define it. */
extern const TestCase test_cases[];
extern const TestDataCase test_data_cases[] __attribute__ ((weak));

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        test_add_cases (test_cases);
        if (test_data_cases)
                test_add_data_cases (test_data_cases);
        return g_test_run ();
}
