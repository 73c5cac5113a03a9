/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
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
        if (!t->right)
                return table_free(t);

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
        free(t);
        return NULL;
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
        size_t first = t->show_header ? 0 : t->n_columns;

        assert(t);
        assert(f);

        widths = calloc(t->n_columns, sizeof *widths);
        if (!widths)
                return -ENOMEM;

        for (size_t i = first; i < t->n_cells; i++) {
                size_t w = text_width(t->cells[i]);
                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }

        for (size_t i = first; i < t->n_cells; i++) {
                size_t col = i % t->n_columns, w = text_width(t->cells[i]);
                bool last = col + 1 == t->n_columns || i + 1 == t->n_cells;
                size_t pad = widths[col] - w;

                if (t->right[col])
                        fprintf(f, "%*s", (int) pad, "");
                fputs(t->cells[i], f);
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
