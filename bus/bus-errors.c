/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"
#include "safe-text.h"
#include "util.h"

/* What each kind of call error is on the bus: one of the contract's names with the errno it
 * converts to and from (a name only jobs carry has none), or a name of D-Bus's own. */
typedef struct KindName {
        ErrorName name;
        int code;
        const char *standard;
} KindName;

static const KindName kind_names[_CALL_ERROR_MAX] = {
        [CALL_ERROR_NONE] = { _ERROR_NAME_INVALID, 0, NULL },
        [CALL_ERROR_INVALID_ARGS] = { _ERROR_NAME_INVALID, 0, SD_BUS_ERROR_INVALID_ARGS },
        [CALL_ERROR_ACCESS_DENIED] = { _ERROR_NAME_INVALID, 0, SD_BUS_ERROR_ACCESS_DENIED },
        [CALL_ERROR_INVALID_STATE] = { ERROR_NAME_INVALID_STATE, ESTALE, NULL },
        [CALL_ERROR_NO_SUCH_JOB] = { ERROR_NAME_NO_SUCH_JOB, ENOENT, NULL },
        [CALL_ERROR_EMPTY] = { ERROR_NAME_EMPTY, ENODATA, NULL },
        [CALL_ERROR_TOO_MANY_JOBS] = { ERROR_NAME_TOO_MANY_JOBS, EUSERS, NULL },
        [CALL_ERROR_TOO_MANY_FILES] = { ERROR_NAME_TOO_MANY_FILES, E2BIG, NULL },
        [CALL_ERROR_UNSUPPORTED_PROTOCOL] = { ERROR_NAME_UNSUPPORTED_PROTOCOL, EPROTONOSUPPORT, NULL },
        [CALL_ERROR_INVALID_PATH] = { ERROR_NAME_INVALID_PATH, ENOTDIR, NULL },
        [CALL_ERROR_STRING_TOO_LONG] = { ERROR_NAME_STRING_TOO_LONG, ENAMETOOLONG, NULL },
        [CALL_ERROR_COMPLETE_FAILED] = { ERROR_NAME_COMPLETE_FAILED, EIO, NULL },
        [CALL_ERROR_LIMITS_EXCEEDED] = { _ERROR_NAME_INVALID, 0, SD_BUS_ERROR_LIMITS_EXCEEDED },
        [CALL_ERROR_IO] = { _ERROR_NAME_INVALID, 0, SD_BUS_ERROR_IO_ERROR },
        [CALL_ERROR_INTERNAL] = { _ERROR_NAME_INVALID, 0, SD_BUS_ERROR_FAILED },
};

/* Built once from the table of names; sd-bus keeps pointers into both. */
static char bus_names[_ERROR_NAME_MAX][XFERD_ERROR_NAME_MAX];
static sd_bus_error_map bus_error_map[_CALL_ERROR_MAX + 1];

static void bus_errors_build(void) {
        static bool built = false;
        size_t k = 0;

        if (built)
                return;
        for (ErrorName e = 0; e < _ERROR_NAME_MAX; e++) {
                int n = snprintf(bus_names[e], sizeof bus_names[e], XFERD_ERROR_PREFIX "%s", error_name_to_string(e));
                assert(n > 0 && (size_t) n < sizeof bus_names[e]);
        }
        for (CallErrorKind kind = 0; kind < _CALL_ERROR_MAX; kind++)
                if (kind_names[kind].code != 0)
                        bus_error_map[k++] = (sd_bus_error_map) { .name = bus_names[kind_names[kind].name],
                                                                  .code = kind_names[kind].code };
        bus_error_map[k] = (sd_bus_error_map) SD_BUS_ERROR_MAP_END;
        built = true;
}

const char *bus_error_name(ErrorName e) {
        if (e < 0 || e >= _ERROR_NAME_MAX)
                return "";
        bus_errors_build();
        return bus_names[e];
}

const char *bus_error_quote(char buf[static BUS_ERROR_QUOTE_SIZE], const char *s) {
        char head[BUS_ERROR_QUOTE_INPUT + 1];
        size_t n;

        assert(buf);
        assert(s);

        /* At most BUS_ERROR_QUOTE_INPUT bytes of s, cut between characters; each byte may
         * become the 3 bytes of U+FFFD, and "…" marks the cut. */
        n = strnlen(s, BUS_ERROR_QUOTE_INPUT + 1);
        if (n <= BUS_ERROR_QUOTE_INPUT)
                return safe_text_copy(buf, BUS_ERROR_QUOTE_SIZE, s);
        memcpy(head, s, BUS_ERROR_QUOTE_INPUT);
        head[BUS_ERROR_QUOTE_INPUT] = 0;
        utf8_trim_partial(head);
        safe_text_copy(buf, BUS_ERROR_QUOTE_SIZE - strlen("…"), head);
        strcat(buf, "…");
        return buf;
}

int bus_errors_register(void) {
        bus_errors_build();
        return sd_bus_error_add_map(bus_error_map);
}

static const char *call_error_bus_name(CallErrorKind kind) {
        if (kind < 0 || kind >= _CALL_ERROR_MAX)
                return NULL;
        if (kind_names[kind].standard)
                return kind_names[kind].standard;
        return kind_names[kind].name == _ERROR_NAME_INVALID ? NULL : bus_error_name(kind_names[kind].name);
}

int bus_error_from_call(sd_bus_error *error, int r, const CallError *e) {
        const char *name = e ? call_error_bus_name(e->kind) : NULL;

        if (!isempty(name)) {
                /* sd-bus drops a reply whose text is not valid UTF-8: the caller would get a
                 * bare "Invalid argument" instead. call_error_set() made it so; this holds
                 * whatever filled *e. */
                char message[sizeof e->message];
                return sd_bus_error_set(error, name, safe_text_copy(message, sizeof message, e->message));
        }
        if (r == -ENOMEM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
        return sd_bus_error_set_errnof(error, r, "Internal error: %s", strerror(r < 0 ? -r : r));
}
