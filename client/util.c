/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "util.h"

int strdup_replace(char **p, const char *s) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        free(*p);
        *p = copy;
        return 0;
}
