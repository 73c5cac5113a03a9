/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(level_names[i], s))
                        return (int) i;
        return -EINVAL;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        int saved = errno;
        va_list ap;

        error = error < 0 ? -error : error;
        if (level > max_level) {
                errno = saved;
                return -error;
        }

        va_start(ap, format);
        fprintf(stderr, "<%d>xferd: ", level);
        vfprintf(stderr, format, ap);
        va_end(ap);
        /* The cause goes last, so messages read "Failed to open x: No such file or directory". */
        if (error != 0)
                fprintf(stderr, ": %s", strerror(error));
        if (max_level >= LOG_DEBUG)
                fprintf(stderr, " (%s:%d %s)", file, line, func);
        fputc('\n', stderr);

        errno = saved;
        return -error;
}
