/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "listed-file.h"
#include "util.h"

int listed_file_enter(sd_bus_message *reply) {
        int r;

        assert(reply);

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, LISTED_FILE_SIGNATURE);
        return r < 0 ? r : 0;
}

int listed_file_next(sd_bus_message *reply, ListedFile *ret) {
        int completed = 0, r;

        assert(reply);
        assert(ret);

        r = sd_bus_message_read(reply, LISTED_FILE_SIGNATURE, &ret->url, &ret->local_path, &ret->temporary_path,
                                &ret->bytes_total, &ret->bytes_transferred, &completed);
        if (r <= 0)
                return r;
        ret->completed = completed;
        return 1;
}
