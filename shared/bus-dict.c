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
