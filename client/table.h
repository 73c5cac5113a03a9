/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Column output for listings: cells are added row by row, widths are measured in terminal
 * columns once all rows are in, and every cell is sanitized (see text.h). */

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

typedef struct Table Table;

/* A table with n_columns columns named by headers (upper case by convention). */
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);

/* Right-aligns a column: numbers read better that way. */
void table_set_align_right(Table *t, size_t column, bool right);

/* Whether the header line is printed (default yes); off for "Label: value" lists. */
void table_set_show_header(Table *t, bool show);

/* Appends a cell to the current row; a row is complete after n_columns cells. NULL prints as
 * "-". Returns 0 or -ENOMEM. */
int table_add(Table *t, const char *cell);
int table_addf(Table *t, const char *fmt, ...) _printf_(2, 3);

size_t table_rows(const Table *t);

/* Prints the table; returns 0 or -EIO when the stream failed. */
int table_print(Table *t, FILE *f);

static inline void table_freep(Table **t) {
        table_free(*t);
}
