/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-dict.h"
#include "util.h"

int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata) {
        const char *key;
        int r;

        assert(m);
        assert(fn);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = fn(m, key, userdata);
                if (r < 0)
                        return r;
                /* Keys the caller does not know (a newer daemon has more) are passed over. */
                r = sd_bus_message_at_end(m, false);
                if (r == 0)
                        r = sd_bus_message_skip(m, "v");
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
