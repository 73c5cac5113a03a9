/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* apt's method protocol (apt's doc/method.dbk): a message is a status line ("600 URI
 * Acquire") followed by "Name: value" fields and ends with an empty line. A value may go on
 * over lines that start with a space. Field names are compared without regard to case. */

#include <stdbool.h>
#include <stddef.h>

typedef struct MessageField {
        char *name;
        char *value;
} MessageField;

/* Name/value pairs in their order: a message's fields, and the configuration's items
 * (settings.h). */
typedef struct FieldList {
        MessageField *items;
        size_t n, allocated;
} FieldList;

/* Appends name and value, taking both (freed on failure; a NULL one, a failed allocation, is
 * -ENOMEM). */
int field_list_take(FieldList *l, char *name, char *value);
/* The value of the first (or, with last, the last) pair called name, compared without regard
 * to case; NULL when there is none. */
const char *field_list_get(const FieldList *l, const char *name, bool last);
void field_list_done(FieldList *l);

typedef struct Message {
        unsigned code;          /* the leading number: 600, 601, ... */
        char *status;           /* the whole first line */
        FieldList fields;
} Message;

/* Parses one message (without its closing empty line). -EBADMSG when the first line has no
 * number or a field line has no colon. */
int message_parse(const char *text, size_t len, Message **ret);
Message *message_free(Message *m);
static inline void message_freep(Message **m) {
        message_free(*m);
}

/* The value of the first field called name, NULL when there is none. */
const char *message_get(const Message *m, const char *name);

/* Splits what comes from apt into messages. */
typedef struct MessageReader {
        char *buf;
        size_t len, size;
} MessageReader;

int message_reader_feed(MessageReader *r, const char *data, size_t n);
/* 1 and *ret when a whole message is buffered, 0 when none is; empty lines between messages
 * are skipped. */
int message_reader_next(MessageReader *r, Message **ret);
/* Whether bytes of an unfinished message are buffered. */
bool message_reader_pending(const MessageReader *r);
void message_reader_done(MessageReader *r);

/* Builds a message for apt. Values are made safe on the way in: apt rejects control
 * characters, so each one (a line break too) becomes a space. */
typedef struct MessageOut {
        char *buf;
        size_t len, size;
        bool oom;
} MessageOut;

void message_out_begin(MessageOut *o, const char *status);
/* Leaves out a field whose value is NULL or empty, as apt does. */
void message_out_add(MessageOut *o, const char *name, const char *value);
void message_out_addf(MessageOut *o, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The finished message (with its closing empty line), or NULL when memory ran out. The
 * buffer stays the caller's: free(o->buf). */
const char *message_out_end(MessageOut *o, size_t *ret_len);
