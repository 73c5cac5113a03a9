/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-dict.h"
#include "bus-json.h"
#include "util.h"

static int append_basic(JsonWriter *w, sd_bus_message *m, char type) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
                int h;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_BYTE:          json_uint(w, v.y); break;
        case SD_BUS_TYPE_BOOLEAN:       json_bool(w, v.b); break;
        case SD_BUS_TYPE_INT16:         json_int(w, v.n); break;
        case SD_BUS_TYPE_UINT16:        json_uint(w, v.q); break;
        case SD_BUS_TYPE_INT32:         json_int(w, v.i); break;
        case SD_BUS_TYPE_UINT32:        json_uint(w, v.u); break;
        case SD_BUS_TYPE_INT64:         json_int(w, v.x); break;
        case SD_BUS_TYPE_UINT64:        json_uint(w, v.t); break;
        case SD_BUS_TYPE_DOUBLE:        json_double(w, v.d); break;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:     json_string(w, v.s); break;
        case SD_BUS_TYPE_UNIX_FD:       json_null(w); break;   /* an fd means nothing in text */
        default:                        return -EBADMSG;
        }
        return 0;
}

/* The key of a dictionary entry is a basic type; JSON keys are strings. */
static int append_key(JsonWriter *w, sd_bus_message *m, char type) {
        _cleanup_free_ char *key = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        if (type == SD_BUS_TYPE_STRING || type == SD_BUS_TYPE_OBJECT_PATH || type == SD_BUS_TYPE_SIGNATURE) {
                const char *s;

                r = sd_bus_message_read_basic(m, type, &s);
                if (r < 0)
                        return r;
                json_key(w, s);
                return 0;
        }

        /* Numbers and booleans: print them as JSON would, then use that text as the key. */
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        {
                _cleanup_(json_writer_freep) JsonWriter *k = json_writer_new(f, false);
                r = k ? append_basic(k, m, type) : -ENOMEM;
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        key = buf;
        if (r < 0)
                return r;
        json_key(w, key);
        return 0;
}

/* The members of the container just entered, as a JSON array. */
static int append_elements(JsonWriter *w, sd_bus_message *m) {
        int r;

        json_begin_array(w);
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                r = bus_json_append(w, m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        json_end_array(w);
        return 0;
}

/* One entry of a dictionary: its key, then its value. */
static int append_entry(sd_bus_message *m, void *userdata) {
        JsonWriter *w = userdata;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = append_key(w, m, type);
        return r < 0 ? r : bus_json_append(w, m);
}

/* A dictionary (an array of "{kv}") as a JSON object. */
static int append_dict(JsonWriter *w, sd_bus_message *m, const char *contents) {
        /* contents is "{kv}"; the entry's own signature is "kv". */
        _cleanup_free_ char *entry = strndup(contents + 1, strlen(contents) - 2);
        int r;

        if (!entry)
                return -ENOMEM;
        json_begin_object(w);
        r = bus_array_read(m, SD_BUS_TYPE_DICT_ENTRY, entry, append_entry, w);
        if (r < 0)
                return r;
        json_end_object(w);
        return 0;
}

int bus_json_append(JsonWriter *w, sd_bus_message *m) {
        const char *contents;
        char type;
        int r;

        assert(w);
        assert(m);

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        if (type == SD_BUS_TYPE_ARRAY && contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN)
                return append_dict(w, m, contents);
        if (type != SD_BUS_TYPE_VARIANT && type != SD_BUS_TYPE_STRUCT && type != SD_BUS_TYPE_ARRAY)
                return append_basic(w, m, type);

        /* A variant is its value; a structure or another array, a JSON array. */
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        r = type == SD_BUS_TYPE_VARIANT ? bus_json_append(w, m) : append_elements(w, m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_json_to_string(sd_bus_message *m, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        assert(m);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        {
                _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(f, false);
                r = w ? bus_json_append(w, m) : -ENOMEM;
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}
