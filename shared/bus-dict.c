/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-dict.h"
#include "util.h"

int bus_array_read(sd_bus_message *m, char type, const char *contents, bus_element_t fn, void *userdata) {
        char array[SD_BUS_MAXIMUM_SIGNATURE_LENGTH + 1];
        int r;

        assert(m);
        assert(type == SD_BUS_TYPE_DICT_ENTRY || type == SD_BUS_TYPE_STRUCT);
        assert(contents);
        assert(fn);

        r = snprintf(array, sizeof array, type == SD_BUS_TYPE_DICT_ENTRY ? "{%s}" : "(%s)", contents);
        if (r < 0 || (size_t) r >= sizeof array)
                return -EINVAL;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, array);
        if (r <= 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, type, contents)) > 0) {
                r = fn(m, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

typedef struct DictRead {
        bus_dict_entry_t fn;
        void *userdata;
} DictRead;

static int dict_entry(sd_bus_message *m, void *userdata) {
        DictRead *d = userdata;
        const char *key;
        int r;

        r = sd_bus_message_read(m, "s", &key);
        if (r < 0)
                return r;
        r = d->fn(m, key, d->userdata);
        if (r < 0)
                return r;
        /* Keys the caller does not know (a newer peer sends more) are passed over. */
        r = sd_bus_message_at_end(m, false);
        if (r == 0)
                r = sd_bus_message_skip(m, "v");
        return r;
}

int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata) {
        DictRead d = { fn, userdata };

        assert(m);
        assert(fn);

        return bus_array_read(m, SD_BUS_TYPE_DICT_ENTRY, "sv", dict_entry, &d);
}

int bus_dict_read_string(sd_bus_message *m, char **field) {
        const char *s;
        int r;

        assert(m);
        assert(field);

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        if (streq_ptr(*field, s))
                return 0;
        r = free_and_strdup(field, s);
        return r < 0 ? r : 1;
}

int bus_dict_read_value(sd_bus_message *m, BusValueKind kind, void *p) {
        union {
                uint32_t u;
                uint64_t t;
        } v = { .t = 0 };
        size_t size;
        int r;

        assert(m);
        assert(p);

        switch (kind) {
        case BUS_VALUE_STRING:
                return bus_dict_read_string(m, p);
        case BUS_VALUE_STRING_BORROWED:
                r = sd_bus_message_read(m, "v", "s", p);
                return r < 0 ? r : 1;
        case BUS_VALUE_U32:
                size = sizeof v.u;
                break;
        case BUS_VALUE_U64:
                size = sizeof v.t;
                break;
        default:
                return -EINVAL;
        }
        r = sd_bus_message_read(m, "v", kind == BUS_VALUE_U32 ? "u" : "t", &v);
        if (r < 0)
                return r;
        if (memcmp(p, &v, size) == 0)
                return 0;
        memcpy(p, &v, size);
        return 1;
}

const BusDictField *bus_dict_field_find(const BusDictField *fields, size_t n, const char *key) {
        assert(fields || n == 0);
        assert(key);

        for (size_t i = 0; i < n; i++)
                if (streq(fields[i].key, key))
                        return &fields[i];
        return NULL;
}

typedef struct FieldsRead {
        const BusDictField *fields;
        size_t n;
        void *base;
        int changed;
} FieldsRead;

static int field_entry(sd_bus_message *m, const char *key, void *userdata) {
        FieldsRead *d = userdata;
        const BusDictField *f = bus_dict_field_find(d->fields, d->n, key);
        int r;

        if (!f)
                return 0;
        r = bus_dict_read_value(m, f->kind, (char *) d->base + f->offset);
        if (r > 0)
                d->changed++;
        return r;
}

int bus_dict_read_fields(sd_bus_message *m, const BusDictField *fields, size_t n, void *base) {
        FieldsRead d = { fields, n, base, 0 };
        int r;

        assert(m);
        assert(fields || n == 0);
        assert(base);

        r = bus_dict_read(m, field_entry, &d);
        return r < 0 ? r : d.changed;
}
