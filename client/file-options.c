/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "file-options.h"
#include "parse.h"
#include "report.h"
#include "util.h"

void file_options_done(FileOptions *o) {
        assert(o);

        free(o->checksum);
        strv_free(o->mirrors);
        free(o->checksum_list);
        free(o->checksum_list_signature);
        *o = (FileOptions) { .checksum = NULL };
}

bool file_options_any(const FileOptions *o) {
        assert(o);
        return file_options_count(o) > 0;
}

int file_options_set_text(char **field, const char *value) {
        int r;

        assert(field);
        assert(value);

        r = free_and_strdup(field, value);
        return r < 0 ? report_error(r, "out of memory") : 0;
}

int file_options_set_size(FileOptions *o, const char *value) {
        assert(o);
        assert(value);

        /* Exact bytes: a size with a suffix (1.5G) is not an exact size. */
        if (parse_count(value, UINT64_MAX, &o->size) < 0)
                return report_error(-EINVAL, "--size takes the exact size in bytes (digits only), not \"%s\"", value);
        o->has_size = true;
        return 0;
}

int file_options_add_mirror(FileOptions *o, const char *value) {
        assert(o);
        assert(value);

        if (strv_consume(&o->mirrors, strdup(value)) < 0)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

unsigned file_options_count(const FileOptions *o) {
        assert(o);
        return !!o->checksum + o->has_size + !!o->mirrors + !!o->checksum_list + !!o->checksum_list_signature;
}

int file_options_append_file(const FileOptions *o, sd_bus_message *m, const char *url, const char *local) {
        int r;

        assert(o);
        assert(m);
        assert(url);
        assert(local);

        r = sd_bus_message_append(m, "ss", url, local);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && o->checksum)
                r = sd_bus_message_append(m, "{sv}", "checksum", "s", o->checksum);
        if (r >= 0 && o->has_size)
                r = sd_bus_message_append(m, "{sv}", "size", "t", o->size);
        if (r >= 0 && o->mirrors) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "mirrors");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o->mirrors);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && o->checksum_list)
                r = sd_bus_message_append(m, "{sv}", "checksum-list", "s", o->checksum_list);
        if (r >= 0 && o->checksum_list_signature)
                r = sd_bus_message_append(m, "{sv}", "checksum-list-signature", "s", o->checksum_list_signature);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}
