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

/* The widest the printed table may be (terminal columns); 0, the default, is no limit. */
void table_set_max_width(Table *t, size_t width);

/* Lets a column be cut (with "…") down to min_width when the table is too wide; columns are
 * cut in the order they were made shrinkable. */
void table_set_shrinkable(Table *t, size_t column, size_t min_width);

/* The width the table prints at, after any cutting. */
size_t table_width(const Table *t);

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
