/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "json.h"
#include "safe-text.h"
#include "text.h"
#include "util.h"

#define JSON_MAX_DEPTH 64

struct JsonWriter {
        FILE *f;
        bool pretty;
        bool failed;
        bool after_key;         /* a key was written, its value comes next */
        unsigned depth;
        struct {
                bool object;
                unsigned count;
        } stack[JSON_MAX_DEPTH];
};

JsonWriter *json_writer_new(FILE *f, bool pretty) {
        JsonWriter *w = calloc(1, sizeof *w);

        assert(f);

        if (!w)
                return NULL;
        w->f = f;
        w->pretty = pretty;
        return w;
}

JsonWriter *json_writer_free(JsonWriter *w) {
        return mfree(w);
}

static void newline_indent(JsonWriter *w) {
        if (!w->pretty)
                return;
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Everything before a value: the comma and line break inside arrays; nothing after a key. */
static void before_value(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (w->stack[w->depth - 1].object) {
                /* A value without a key inside an object is a caller bug. */
                w->failed = true;
                return;
        }
        if (w->stack[w->depth - 1].count++ > 0)
                fputc(',', w->f);
        newline_indent(w);
}

void json_key(JsonWriter *w, const char *key) {
        assert(w);
        assert(key);

        if (w->depth == 0 || !w->stack[w->depth - 1].object || w->after_key) {
                w->failed = true;
                return;
        }
        if (w->stack[w->depth - 1].count++ > 0)
                fputc(',', w->f);
        newline_indent(w);
        json_write_escaped(w->f, key);
        fputs(w->pretty ? ": " : ":", w->f);
        w->after_key = true;
}

static void begin(JsonWriter *w, bool object) {
        before_value(w);
        if (w->depth >= JSON_MAX_DEPTH) {
                w->failed = true;
                return;
        }
        fputc(object ? '{' : '[', w->f);
        w->stack[w->depth].object = object;
        w->stack[w->depth].count = 0;
        w->depth++;
}

static void end(JsonWriter *w, bool object) {
        bool empty;

        if (w->depth == 0 || w->stack[w->depth - 1].object != object || w->after_key) {
                w->failed = true;
                return;
        }
        empty = w->stack[w->depth - 1].count == 0;
        w->depth--;
        if (!empty)
                newline_indent(w);
        fputc(object ? '}' : ']', w->f);
}

void json_begin_object(JsonWriter *w) {
        assert(w);

        begin(w, true);
}

void json_end_object(JsonWriter *w) {
        assert(w);

        end(w, true);
}

void json_begin_array(JsonWriter *w) {
        assert(w);

        begin(w, false);
}

void json_end_array(JsonWriter *w) {
        assert(w);

        end(w, false);
}

void json_write_escaped(FILE *f, const char *s) {
        assert(f);
        assert(s);

        fputc('"', f);
        while (*s) {
                uint32_t cp;
                size_t len = utf8_decode(s, &cp);

                if (len == 0) {
                        /* D-Bus strings are valid UTF-8, but the writer must never emit
                         * invalid JSON whatever it is given. */
                        fputs("\\ufffd", f);
                        s++;
                        continue;
                }

                switch (cp) {
                case '"':  fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (cp < 0x20 || cp == 0x2028 || cp == 0x2029)
                                fprintf(f, "\\u%04" PRIx32, cp);
                        else
                                fwrite(s, 1, len, f);
                }
                s += len;
        }
        fputc('"', f);
}

void json_string(JsonWriter *w, const char *s) {
        assert(w);

        if (!s) {
                json_null(w);
                return;
        }
        before_value(w);
        json_write_escaped(w->f, s);
}

void json_uint(JsonWriter *w, uint64_t v) {
        assert(w);

        before_value(w);
        fprintf(w->f, "%" PRIu64, v);
}

void json_int(JsonWriter *w, int64_t v) {
        assert(w);

        before_value(w);
        fprintf(w->f, "%" PRId64, v);
}

void json_double(JsonWriter *w, double v) {
        assert(w);

        if (!isfinite(v)) {
                json_null(w);
                return;
        }
        before_value(w);
        /* 17 significant digits round-trip every double. */
        fprintf(w->f, "%.17g", v);
}

void json_bool(JsonWriter *w, bool v) {
        assert(w);

        before_value(w);
        fputs(v ? "true" : "false", w->f);
}

void json_null(JsonWriter *w) {
        assert(w);

        before_value(w);
        fputs("null", w->f);
}

void json_member_string(JsonWriter *w, const char *key, const char *s) {
        json_key(w, key);
        json_string(w, s);
}

void json_member_uint(JsonWriter *w, const char *key, uint64_t v) {
        json_key(w, key);
        json_uint(w, v);
}

void json_member_bool(JsonWriter *w, const char *key, bool v) {
        json_key(w, key);
        json_bool(w, v);
}

int json_writer_finish(JsonWriter *w) {
        bool failed = w->failed || w->depth != 0 || w->after_key;

        assert(w);

        fputc('\n', w->f);
        w->failed = false;
        w->after_key = false;
        w->depth = 0;

        if (fflush(w->f) != 0 || ferror(w->f))
                return -EIO;
        return failed ? -EINVAL : 0;
}
