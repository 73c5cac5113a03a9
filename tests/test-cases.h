/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test program's cases as a table, test_cases, and those that run one
 * function with different data as a second one, test_data_cases, when it has
 * any. The main() of test-main.c runs them. A program with more to set up
 * first has a main() of its own, which calls test_add_cases() between
 * g_test_init() and g_test_run(), or test_main() or test_main_data().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
        const char *path;       /* "/suite/case"; NULL ends the table */
        GTestFunc func;
} TestCase;

typedef struct {
        const char *path;       /* NULL ends the table */
        GTestDataFunc func;
        gconstpointer data;     /* what func gets */
} TestDataCase;

/* g_test_add_func() for every case of the table. */
static inline void
test_add_cases (const TestCase *cases)
{
        for (const TestCase *c = cases; c->path; c++)
                g_test_add_func (c->path, c->func);
}

/* g_test_add_data_func() for every case of the table. */
static inline void
test_add_data_cases (const TestDataCase *cases)
{
        for (const TestDataCase *c = cases; c->path; c++)
                g_test_add_data_func (c->path, c->data, c->func);
}

/* g_test_init(), the cases, g_test_run(): what main() returns. */
static inline int
test_main (int argc, char **argv, const TestCase *cases)
{
        g_test_init (&argc, &argv, NULL);
        test_add_cases (cases);
        return g_test_run ();
}

/* The same with a table of data cases after the other. */
static inline int
test_main_data (int argc, char **argv, const TestCase *cases, const TestDataCase *data_cases)
{
        g_test_init (&argc, &argv, NULL);
        test_add_cases (cases);
        test_add_data_cases (data_cases);
        return g_test_run ();
}

G_END_DECLS
