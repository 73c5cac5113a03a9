/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signals' a{sv} dictionaries written in D-Bus's wire format (bus-wire.h), and the tests' check
 * that they read as sd-bus's own. */
#include <stdio.h>
#include <stdlib.h>

#include "bus-rows.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

/* A dictionary entry (signature `entry`) opened for the key `name` (a literal property or
 * interface name: known text), and its value's container (`type`, holding `contents`): the
 * caller appends what it holds, then wire_entry_close(). */
int wire_entry_open(sd_bus_message *m, const char *entry, const char *name, char type, const char *contents) {
        int r = sd_bus_message_open_container(m, 'e', entry);

        if (r >= 0)
                r = bus_append_known_text(m, name, NULL);
        if (r >= 0)
                r = sd_bus_message_open_container(m, type, contents);
        return r;
}

int wire_entry_close(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);

        return r < 0 ? r : sd_bus_message_close_container(m);
}

void wire_text(BusRows *w, const char *s) {
        bus_rows_string(w, s, strlen(s));
}

static void wire_value(BusRows *w, const WireValue *v) {
        const char sig[3] = { 1, v->type, 0 };  /* the variant's signature: its length, the type */

        bus_rows_put(w, sig, sizeof sig);
        switch (v->type) {
        case 't':
                bus_rows_u64(w, v->n);
                break;
        case 's':
                wire_text(w, v->s);
                break;
        default:        /* 'u' */
                bus_rows_u32(w, (uint32_t) v->n);
        }
}

/* Entries of a{sv}, from the first key's characters (its length is sd-bus's, at w's start) to
 * the last key's characters: the last value is sd-bus's to append. n ≥ 1. */
void wire_entries(BusRows *w, const WireEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                bus_rows_align(w, 8);
                if (i == n - 1) {  /* the key without its NUL, which sd-bus writes */
                        bus_rows_u32(w, (uint32_t) strlen(e[i].name));
                        bus_rows_put(w, e[i].name, strlen(e[i].name));
                        break;
                }
                wire_text(w, e[i].name);
                wire_value(w, &e[i].v);
        }
}

/* A complete a{sv} (its length, the padding, the entries). */
void wire_dict(BusRows *w, const WireEntry *e, size_t n) {
        char *length_at;
        uint64_t start;
        uint32_t length;

        bus_rows_align(w, 4);
        length_at = w->p;
        bus_rows_u32(w, 0);
        bus_rows_align(w, 8);
        start = w->offset;
        for (size_t i = 0; i < n; i++) {
                bus_rows_align(w, 8);
                wire_text(w, e[i].name);
                wire_value(w, &e[i].v);
        }
        length = (uint32_t) (w->offset - start);
        if (length_at)
                memcpy(length_at, &length, sizeof length);
}

int wire_append_value(sd_bus_message *m, const WireValue *v) {
        const char sig[2] = { v->type, 0 };
        uint32_t u = (uint32_t) v->n;
        int r;

        r = sd_bus_message_open_container(m, 'v', sig);
        if (r >= 0)
                switch (v->type) {
                case 't':
                        r = sd_bus_message_append_basic(m, 't', &v->n);
                        break;
                case 's':
                        r = bus_append_known_text(m, v->s, NULL);
                        break;
                default:
                        r = sd_bus_message_append_basic(m, 'u', &u);
                }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int wire_fill_room(sd_bus_message *m, const char *entry, uint64_t room, const char *buffer, const BusRows *written) {
        BusRows w;
        int r;

        assert(m);
        assert(entry);
        assert(buffer);
        assert(written);

        r = sd_bus_message_open_container(m, 'e', entry);
        if (r >= 0)
                r = bus_rows_begin_at(m, written->offset - room, room, &w);
        if (r < 0)
                return r;
        memcpy(w.p, buffer, (size_t) (written->p - buffer));
        return 0;
}

/* At least the bytes that n entries take, each with its padding (the buffer's bound). */
size_t wire_bound(const WireEntry *e, size_t n) {
        size_t b = 0;

        for (size_t i = 0; i < n; i++)
                b += 7 + 4 + strlen(e[i].name) + 1 + 3 + 7 + (e[i].v.type == 's' ? 4 + strlen(e[i].v.s) + 1 : 8);
        return b;
}


/* Where a dictionary's first entry begins in a body that starts with a string or object path of
 * `first` bytes: after it, the array's length (4-aligned), then the entry (8-aligned). The first
 * key's characters are 4 bytes further. */
uint64_t wire_first_key_room(size_t first) {
        BusRows w = { .p = NULL, .offset = 0 };

        bus_rows_u32(&w, (uint32_t) first);
        w.offset += first + 1;
        bus_rows_u32(&w, 0);
        bus_rows_align(&w, 8);
        return w.offset + 4;
}

/* Tests (XFERD_TEST_CHECK_SIGNALS): a signal written here must read as sd-bus's own of the same
 * values; a difference aborts. Both bodies are compared as sd-bus prints them. */
bool wire_check_enabled(void) {
        static int check = -1;

        if (check < 0)
                check = getenv("XFERD_TEST_CHECK_SIGNALS") != NULL;
        return check;
}

char *wire_message_text(sd_bus_message *m, const char *header) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        assert(m);

        r = sd_bus_message_seal(m, 1, 0);
        if (r < 0 && r != -EPERM)       /* -EPERM: sealed already (a message read back) */
                return NULL;
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        if (header)
                fputs(header, f);
        r = sd_bus_message_dump(m, f, 0);
        if (fclose(f) != 0 || r < 0)
                return NULL;
        return TAKE_PTR(text);
}

void wire_check_same(const char *what, sd_bus_message *wire, sd_bus_message *sdbus) {
        _cleanup_free_ char *a = wire_message_text(wire, NULL), *b = wire_message_text(sdbus, NULL);

        if (!a || !b || !streq(a, b)) {
                log_error("Bug: %s written in the wire format differs from sd-bus's:\n%s\nsd-bus:\n%s", what,
                          a ? a : "(none)", b ? b : "(none)");
                abort();
        }
}
