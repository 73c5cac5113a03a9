/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A streaming JSON writer (RFC 8259). Commas, indentation and string escaping are its job;
 * callers only say what comes next. Errors (bad nesting, a failed stream) are remembered and
 * reported by json_writer_finish(). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct JsonWriter JsonWriter;

/* pretty: two-space indentation and one member per line; otherwise one compact line
 * (JSON Lines, used by `monitor --json`). */
JsonWriter *json_writer_new(FILE *f, bool pretty);
JsonWriter *json_writer_free(JsonWriter *w);

/* Ends the document with a newline and flushes. Returns 0, -EINVAL on unbalanced nesting or
 * -EIO when writing failed. The writer can start a new document afterwards. */
int json_writer_finish(JsonWriter *w);

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);

/* The name of the next object member. */
void json_key(JsonWriter *w, const char *key);

void json_string(JsonWriter *w, const char *s); /* NULL writes null */
void json_uint(JsonWriter *w, uint64_t v);
void json_int(JsonWriter *w, int64_t v);
void json_double(JsonWriter *w, double v);      /* NaN and infinities write null */
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);

/* An object member, its key and its value in one call. */
void json_member_string(JsonWriter *w, const char *key, const char *s);
void json_member_uint(JsonWriter *w, const char *key, uint64_t v);
void json_member_bool(JsonWriter *w, const char *key, bool v);

/* Writes s as a quoted JSON string: ", \ and control characters escaped, invalid UTF-8
 * replaced by U+FFFD, U+2028/U+2029 escaped so the output is also valid JavaScript. */
void json_write_escaped(FILE *f, const char *s);

static inline void json_writer_freep(JsonWriter **w) {
        json_writer_free(*w);
}
