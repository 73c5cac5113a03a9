/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "util.h"

int field_list_take(FieldList *l, char *name, char *value) {
        assert(l);

        if (!name || !value || array_reserve((void **) &l->items, &l->allocated, l->n + 1, sizeof *l->items) < 0) {
                free(name);
                free(value);
                return -ENOMEM;
        }
        l->items[l->n++] = (MessageField) { name, value };
        return 0;
}

const char *field_list_get(const FieldList *l, const char *name, bool last) {
        assert(l);
        assert(name);

        for (size_t k = 0; k < l->n; k++) {
                const MessageField *f = &l->items[last ? l->n - 1 - k : k];
                if (strcasecmp(f->name, name) == 0)
                        return f->value;
        }
        return NULL;
}

void field_list_done(FieldList *l) {
        assert(l);

        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].value);
        }
        free(l->items);
        *l = (FieldList) { .items = NULL };
}

Message *message_free(Message *m) {
        if (!m)
                return NULL;
        field_list_done(&m->fields);
        free(m->status);
        return mfree(m);
}

static char *strndup_trimmed(const char *s, size_t n) {
        while (n > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                n--;
        }
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        return strndup(s, n);
}

/* A line that starts with a space continues the value of the field before it. */
static int append_continuation(Message *m, const char *line, size_t n) {
        MessageField *f = &m->fields.items[m->fields.n - 1];
        char *piece = strndup_trimmed(line, n);
        char *joined;

        if (!piece)
                return -ENOMEM;
        if (asprintf(&joined, "%s\n%s", f->value, piece) < 0) {
                free(piece);
                return -ENOMEM;
        }
        free(piece);
        free(f->value);
        f->value = joined;
        return 0;
}

static int add_field(Message *m, const char *line, size_t n) {
        const char *colon = memchr(line, ':', n);

        if (!colon || colon == line)
                return -EBADMSG;
        return field_list_take(&m->fields, strndup_trimmed(line, (size_t) (colon - line)),
                               strndup_trimmed(colon + 1, (size_t) (line + n - colon - 1)));
}

int message_parse(const char *text, size_t len, Message **ret) {
        _cleanup_(message_freep) Message *m = NULL;
        const char *p = text, *end = text + len;
        int r = 0;

        assert(text || len == 0);
        assert(ret);

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;

        for (bool first = true; p < end; first = false) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = (size_t) ((nl ? nl : end) - p);

                if (n > 0 && p[n - 1] == '\r')
                        n--;
                if (first) {
                        char *num_end;
                        unsigned long code = strtoul(p, &num_end, 10);

                        if (num_end == p || code > 999) {
                                r = -EBADMSG;
                                break;
                        }
                        m->code = (unsigned) code;
                        m->status = strndup_trimmed(p, n);
                        if (!m->status) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (n == 0) {
                        ;
                } else if ((*p == ' ' || *p == '\t') && m->fields.n > 0) {
                        r = append_continuation(m, p, n);
                } else
                        r = add_field(m, p, n);
                if (r < 0)
                        break;
                p = nl ? nl + 1 : end;
        }
        if (r == 0 && !m->status)
                r = -EBADMSG;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

const char *message_get(const Message *m, const char *name) {
        assert(m);
        assert(name);

        return field_list_get(&m->fields, name, false);
}

/* ---- reading ------------------------------------------------------------------------------ */

int message_reader_feed(MessageReader *r, const char *data, size_t n) {
        assert(r);
        assert(data || n == 0);

        if (n > SIZE_MAX - r->len - 1 || array_reserve((void **) &r->buf, &r->size, r->len + n + 1, 1) < 0)
                return -ENOMEM;
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        r->buf[r->len] = 0;
        return 0;
}

static void reader_consume(MessageReader *r, size_t n) {
        memmove(r->buf, r->buf + n, r->len - n);
        r->len -= n;
        r->buf[r->len] = 0;
}

int message_reader_next(MessageReader *r, Message **ret) {
        size_t skip = 0;

        assert(r);
        assert(ret);

        /* Empty lines between messages mean nothing. */
        while (skip < r->len && (r->buf[skip] == '\n' || r->buf[skip] == '\r'))
                skip++;
        if (skip > 0)
                reader_consume(r, skip);
        if (r->len == 0)
                return 0;

        for (size_t i = 0; i + 1 < r->len; i++) {
                if (r->buf[i] != '\n')
                        continue;
                size_t j = i + 1;
                if (j < r->len && r->buf[j] == '\r')
                        j++;
                if (j < r->len && r->buf[j] == '\n') {
                        int k = message_parse(r->buf, i, ret);
                        reader_consume(r, j + 1);
                        return k < 0 ? k : 1;
                }
        }
        return 0;
}

bool message_reader_pending(const MessageReader *r) {
        assert(r);

        for (size_t i = 0; i < r->len; i++)
                if (r->buf[i] != '\n' && r->buf[i] != '\r')
                        return true;
        return false;
}

void message_reader_done(MessageReader *r) {
        assert(r);

        free(r->buf);
        *r = (MessageReader) { 0 };
}

/* ---- writing ------------------------------------------------------------------------------ */

static void out_append(MessageOut *o, const char *s, size_t n, bool sanitize) {
        if (o->oom)
                return;
        if (n > SIZE_MAX - o->len - 1 || array_reserve((void **) &o->buf, &o->size, o->len + n + 1, 1) < 0) {
                o->oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                o->buf[o->len++] = sanitize && (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
        }
        o->buf[o->len] = 0;
}

void message_out_begin(MessageOut *o, const char *status) {
        assert(o);
        assert(status);

        o->len = 0;
        o->oom = false;
        out_append(o, status, strlen(status), true);
        out_append(o, "\n", 1, false);
}

void message_out_add(MessageOut *o, const char *name, const char *value) {
        assert(o);
        assert(name);

        if (!value || !*value)
                return;
        out_append(o, name, strlen(name), true);
        out_append(o, ": ", 2, false);
        out_append(o, value, strlen(value), true);
        out_append(o, "\n", 1, false);
}

void message_out_addf(MessageOut *o, const char *name, const char *fmt, ...) {
        va_list ap;
        char *value;
        int n;

        assert(o);
        assert(fmt);

        va_start(ap, fmt);
        n = vasprintf(&value, fmt, ap);
        va_end(ap);
        if (n < 0) {
                o->oom = true;
                return;
        }
        message_out_add(o, name, value);
        free(value);
}

const char *message_out_end(MessageOut *o, size_t *ret_len) {
        assert(o);

        out_append(o, "\n", 1, false);
        if (o->oom)
                return NULL;
        if (ret_len)
                *ret_len = o->len;
        return o->buf;
}
