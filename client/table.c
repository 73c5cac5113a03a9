/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include "table.h"
#include "text.h"

/* Two spaces keep columns apart even when a cell is as wide as its column. */
#define TABLE_GAP 2

struct Table {
        size_t n_columns;
        char **cells;          /* headers first, then the rows, row-major */
        size_t n_cells;
        size_t allocated;
        bool *right;
        size_t *min_width;     /* SIZE_MAX: the column is never cut */
        size_t *shrink_order;  /* columns that may be cut, first cut first */
        size_t n_shrink;
        size_t max_width;      /* 0: no limit */
        bool show_header;
};

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t;

        assert(headers);

        t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->show_header = true;
        t->right = calloc(n_columns, sizeof *t->right);
        t->min_width = calloc(n_columns, sizeof *t->min_width);
        t->shrink_order = calloc(n_columns, sizeof *t->shrink_order);
        if (!t->right || !t->min_width || !t->shrink_order)
                return table_free(t);
        for (size_t i = 0; i < n_columns; i++)
                t->min_width[i] = SIZE_MAX;

        for (size_t i = 0; i < n_columns; i++)
                if (table_add(t, headers[i]) < 0)
                        return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->right);
        free(t->min_width);
        free(t->shrink_order);
        return mfree(t);
}

void table_set_align_right(Table *t, size_t column, bool right) {
        assert(t);

        if (column < t->n_columns)
                t->right[column] = right;
}

void table_set_show_header(Table *t, bool show) {
        assert(t);

        t->show_header = show;
}

void table_set_max_width(Table *t, size_t width) {
        assert(t);

        t->max_width = width;
}

void table_set_shrinkable(Table *t, size_t column, size_t min_width) {
        assert(t);

        if (column >= t->n_columns || t->min_width[column] != SIZE_MAX)
                return;
        t->min_width[column] = min_width;
        t->shrink_order[t->n_shrink++] = column;
}

/* Measures the columns, then cuts the shrinkable ones, in their order, until the table fits
 * (or none can give more). */
static size_t *column_widths(const Table *t, size_t first) {
        size_t *widths = calloc(t->n_columns, sizeof *widths), total = 0;

        if (!widths)
                return NULL;
        for (size_t i = first; i < t->n_cells; i++) {
                size_t w = text_width(t->cells[i]);
                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }
        if (t->max_width == 0)
                return widths;

        for (size_t c = 0; c < t->n_columns; c++)
                total += widths[c] + (c > 0 ? TABLE_GAP : 0);
        for (size_t k = 0; k < t->n_shrink && total > t->max_width; k++) {
                size_t c = t->shrink_order[k], give;

                if (widths[c] <= t->min_width[c])
                        continue;
                give = widths[c] - t->min_width[c];
                if (give > total - t->max_width)
                        give = total - t->max_width;
                widths[c] -= give;
                total -= give;
        }
        return widths;
}

size_t table_width(const Table *t) {
        _cleanup_free_ size_t *widths = NULL;
        size_t total = 0;

        assert(t);

        widths = column_widths(t, t->show_header ? 0 : t->n_columns);
        if (!widths)
                return 0;
        for (size_t c = 0; c < t->n_columns; c++)
                total += widths[c] + (c > 0 ? TABLE_GAP : 0);
        return total;
}

int table_add(Table *t, const char *cell) {
        char *s;
        int r;

        assert(t);

        r = array_reserve((void **) &t->cells, &t->allocated, t->n_cells + 1, sizeof(char *));
        if (r < 0)
                return r;

        s = text_sanitize(cell ? cell : "-");
        if (!s)
                return -ENOMEM;
        t->cells[t->n_cells++] = s;
        return 0;
}

int table_addf(Table *t, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        assert(t);
        assert(fmt);

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return table_add(t, s);
}

size_t table_rows(const Table *t) {
        assert(t);

        return t->n_cells / t->n_columns - 1;
}

int table_print(Table *t, FILE *f) {
        _cleanup_free_ size_t *widths = NULL;
        size_t first;

        assert(t);
        assert(f);

        first = t->show_header ? 0 : t->n_columns;
        widths = column_widths(t, first);
        if (!widths)
                return -ENOMEM;

        for (size_t i = first; i < t->n_cells; i++) {
                _cleanup_free_ char *cut = NULL;
                size_t col = i % t->n_columns, w = text_width(t->cells[i]);
                bool last = col + 1 == t->n_columns || i + 1 == t->n_cells;
                size_t pad;

                if (w > widths[col]) {
                        cut = text_truncate(t->cells[i], widths[col]);
                        if (!cut)
                                return -ENOMEM;
                        w = text_width(cut);
                }
                pad = widths[col] - w;
                if (t->right[col])
                        fprintf(f, "%*s", (int) pad, "");
                fputs(cut ? cut : t->cells[i], f);
                /* No trailing blanks after the last column. */
                if (!last)
                        fprintf(f, "%*s", (int) (t->right[col] ? TABLE_GAP : pad + TABLE_GAP), "");
                else
                        fputc('\n', f);
        }

        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}
