/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The a{sv} options of Manager methods and of AddFileWithOptions: read by a table of keys and
 * types, and the file options every one of them shares. */
#include "bus-errors.h"
#include "bus.h"

void bus_options_done(BusOptions *v) {
        assert(v);

        for (size_t i = 0; i < BUS_OPTIONS_MAX; i++)
                v->strvs[i] = strv_free(v->strvs[i]);
}

int bus_options_read(sd_bus_message *m, const BusOptionSpec *spec, size_t n_spec, BusOptions *v,
                     sd_bus_error *error) {
        int r;

        assert(m);
        assert(spec);
        assert(n_spec <= BUS_OPTIONS_MAX);
        assert(v);

        *v = (BusOptions) { .present = { false } };

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                size_t i;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < n_spec; i++)
                        if (streq(spec[i].key, key))
                                break;
                if (i == n_spec) {
                        char quoted[BUS_ERROR_QUOTE_SIZE];
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%s'.", bus_error_quote(quoted, key));
                }
                /* A key given twice is refused: so a dictionary is never read past its first
                 * n_spec + 1 entries. */
                if (v->present[i])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' is given more than once.", key);

                r = sd_bus_message_enter_container(m, 'v', spec[i].type);
                if (r == -ENXIO)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be of type '%s'.", key, spec[i].type);
                if (r < 0)
                        return r;
                if (streq(spec[i].type, "s"))
                        r = sd_bus_message_read_basic(m, 's', &v->strings[i]);
                else if (streq(spec[i].type, "b"))
                        r = sd_bus_message_read_basic(m, 'b', &v->booleans[i]);
                else if (streq(spec[i].type, "t"))
                        r = sd_bus_message_read_basic(m, 't', &v->u64s[i]);
                else if (streq(spec[i].type, "u")) {
                        uint32_t u = 0;
                        r = sd_bus_message_read_basic(m, 'u', &u);
                        v->u64s[i] = u;
                }
                else {
                        v->strvs[i] = strv_free(v->strvs[i]);
                        r = sd_bus_message_read_strv(m, &v->strvs[i]);
                }
                if (r < 0)
                        return r;
                v->present[i] = true;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

void bus_options_get_file(const BusOptions *v, size_t first, JobFileOptions *ret) {
        assert(v);
        assert(first + _BUS_FILE_OPTION_MAX <= BUS_OPTIONS_MAX);
        assert(ret);

        *ret = (JobFileOptions) {
                .checksum = v->present[first + BUS_FILE_OPTION_CHECKSUM] ? v->strings[first + BUS_FILE_OPTION_CHECKSUM]
                                                                         : NULL,
                .expect_size = v->present[first + BUS_FILE_OPTION_SIZE],
                .size = v->u64s[first + BUS_FILE_OPTION_SIZE],
                .mirrors = v->strvs[first + BUS_FILE_OPTION_MIRRORS],
                .checksum_list = v->strings[first + BUS_FILE_OPTION_CHECKSUM_LIST],
                .checksum_list_signature = v->strings[first + BUS_FILE_OPTION_CHECKSUM_LIST_SIGNATURE],
        };
}
