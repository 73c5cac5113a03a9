/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main() of every test program that is only its tables of cases
 * (test-cases.h). Built into those programs by meson.build; a program with a
 * main() of its own is built without it.
 */
#include "test-cases.h"

/* Weak: a program without cases that take data need not define the table. */
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
