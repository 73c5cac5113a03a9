/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-dict.h"
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

void job_json_member_bytes_total(JsonWriter *w, uint64_t v) {
        json_key(w, "BytesTotal");
        job_json_bytes_total(w, v);
}

static int property_json(sd_bus_message *m, const char *name, void *userdata) {
        JsonWriter *w = userdata;
        uint64_t v;
        int r;

        json_key(w, name);
        if (!streq(name, "BytesTotal") || sd_bus_message_verify_type(m, 'v', "t") <= 0)
                return bus_json_append(w, m);
        r = sd_bus_message_read(m, "v", "t", &v);
        if (r >= 0)
                job_json_bytes_total(w, v);
        return r;
}

int job_json_append_properties(JsonWriter *w, sd_bus_message *m) {
        int r;

        assert(w);
        assert(m);

        json_begin_object(w);
        r = bus_dict_read(m, property_json, w);
        if (r < 0)
                return r;
        json_end_object(w);
        return 0;
}
