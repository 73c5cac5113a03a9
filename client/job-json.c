/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-json.h"
#include "job-json.h"
#include "util.h"

void job_json_bytes_total(JsonWriter *w, uint64_t v) {
        assert(w);

        if (v == UINT64_MAX)
                json_null(w);
        else
                json_uint(w, v);
}

int job_json_append_properties(JsonWriter *w, sd_bus_message *m) {
        const char *name;
        int r;

        assert(w);
        assert(m);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        json_begin_object(w);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                json_key(w, name);

                if (streq(name, "BytesTotal") && sd_bus_message_verify_type(m, 'v', "t") > 0) {
                        uint64_t v;

                        r = sd_bus_message_read(m, "v", "t", &v);
                        if (r < 0)
                                return r;
                        job_json_bytes_total(w, v);
                } else {
                        r = bus_json_append(w, m);
                        if (r < 0)
                                return r;
                }

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        json_end_object(w);

        return sd_bus_message_exit_container(m);
}
