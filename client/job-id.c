/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdio.h>

#include "job-id.h"
#include "names.h"
#include "util.h"

bool job_id_is_valid(const char *s) {
        size_t i;

        assert(s);

        for (i = 0; s[i]; i++)
                if (!isdigit((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                        return false;
        return i == XFERD_JOB_ID_LEN;
}

const char *job_id_from_path(const char *path) {
        size_t n = strlen(XFERD_JOB_PATH_PREFIX);

        if (!path || strncmp(path, XFERD_JOB_PATH_PREFIX, n) != 0 || !job_id_is_valid(path + n))
                return NULL;
        return path + n;
}

char *job_id_to_path(const char *id) {
        char *p;

        assert(id);

        /* Plain concatenation, as the contract says: sd_bus_path_encode() would escape a
         * leading digit. */
        if (asprintf(&p, "%s%s", XFERD_JOB_PATH_PREFIX, id) < 0)
                return NULL;
        return p;
}
