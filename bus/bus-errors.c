/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"
#include "util.h"

static const sd_bus_error_map xferd_errors[] = {
        SD_BUS_ERROR_MAP(XFERD_ERROR_INVALID_STATE, ESTALE),
        SD_BUS_ERROR_MAP(XFERD_ERROR_NO_SUCH_JOB, ENOENT),
        SD_BUS_ERROR_MAP(XFERD_ERROR_EMPTY, ENODATA),
        SD_BUS_ERROR_MAP(XFERD_ERROR_TOO_MANY_JOBS, EUSERS),
        SD_BUS_ERROR_MAP(XFERD_ERROR_TOO_MANY_FILES, E2BIG),
        SD_BUS_ERROR_MAP(XFERD_ERROR_UNSUPPORTED_PROTOCOL, EPROTONOSUPPORT),
        SD_BUS_ERROR_MAP(XFERD_ERROR_INVALID_PATH, ENOTDIR),
        SD_BUS_ERROR_MAP(XFERD_ERROR_STRING_TOO_LONG, ENAMETOOLONG),
        SD_BUS_ERROR_MAP(XFERD_ERROR_COMPLETE_FAILED, EIO),
        SD_BUS_ERROR_MAP_END
};

int bus_errors_register(void) {
        return sd_bus_error_add_map(xferd_errors);
}

static const char *const kind_names[_CALL_ERROR_MAX] = {
        [CALL_ERROR_INVALID_ARGS] = SD_BUS_ERROR_INVALID_ARGS,
        [CALL_ERROR_ACCESS_DENIED] = SD_BUS_ERROR_ACCESS_DENIED,
        [CALL_ERROR_INVALID_STATE] = XFERD_ERROR_INVALID_STATE,
        [CALL_ERROR_NO_SUCH_JOB] = XFERD_ERROR_NO_SUCH_JOB,
        [CALL_ERROR_EMPTY] = XFERD_ERROR_EMPTY,
        [CALL_ERROR_TOO_MANY_JOBS] = XFERD_ERROR_TOO_MANY_JOBS,
        [CALL_ERROR_TOO_MANY_FILES] = XFERD_ERROR_TOO_MANY_FILES,
        [CALL_ERROR_UNSUPPORTED_PROTOCOL] = XFERD_ERROR_UNSUPPORTED_PROTOCOL,
        [CALL_ERROR_INVALID_PATH] = XFERD_ERROR_INVALID_PATH,
        [CALL_ERROR_STRING_TOO_LONG] = XFERD_ERROR_STRING_TOO_LONG,
        [CALL_ERROR_COMPLETE_FAILED] = XFERD_ERROR_COMPLETE_FAILED,
        [CALL_ERROR_INTERNAL] = SD_BUS_ERROR_FAILED,
};

int bus_error_from_call(sd_bus_error *error, int r, const CallError *e) {
        if (e && e->kind > CALL_ERROR_NONE && e->kind < _CALL_ERROR_MAX && kind_names[e->kind])
                return sd_bus_error_set(error, kind_names[e->kind], e->message);
        if (r == -ENOMEM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
        return sd_bus_error_set_errnof(error, r, "Internal error: %s", strerror(r < 0 ? -r : r));
}
