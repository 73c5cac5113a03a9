/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test program's cases as a table, test_cases, and those that run one
 * function with different data as a second one, test_data_cases, when it has
 * any. The main() of test-main.c runs them; a program with more to set up
 * first has a main() of its own, which calls test_add_cases() between
 * g_test_init() and g_test_run().
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

/* The tables a program run by test-main.c defines (test_data_cases only when it has such
 * cases). */
extern const TestCase test_cases[];
extern const TestDataCase test_data_cases[];

G_END_DECLS
