/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error-name.h"
#include "util.h"

static const char *const error_name_table[_ERROR_NAME_MAX] = {
        [ERROR_NAME_HTTP] = "Http",
        [ERROR_NAME_NETWORK] = "Network",
        [ERROR_NAME_TIMEOUT] = "Timeout",
        [ERROR_NAME_TLS] = "Tls",
        [ERROR_NAME_TOO_MANY_REDIRECTS] = "TooManyRedirects",
        [ERROR_NAME_UNSUPPORTED_PROTOCOL] = "UnsupportedProtocol",
        [ERROR_NAME_LOCAL_FILE] = "LocalFile",
        [ERROR_NAME_NO_PROGRESS] = "NoProgress",
        [ERROR_NAME_COMPLETE_FAILED] = "CompleteFailed",
        [ERROR_NAME_INTEGRITY] = "Integrity",
        [ERROR_NAME_INVALID_STATE] = "InvalidState",
        [ERROR_NAME_NO_SUCH_JOB] = "NoSuchJob",
        [ERROR_NAME_EMPTY] = "Empty",
        [ERROR_NAME_TOO_MANY_JOBS] = "TooManyJobs",
        [ERROR_NAME_TOO_MANY_FILES] = "TooManyFiles",
        [ERROR_NAME_INVALID_PATH] = "InvalidPath",
        [ERROR_NAME_STRING_TOO_LONG] = "StringTooLong",
};

const char *error_name_to_string(ErrorName e) {
        return string_table_get(error_name_table, _ERROR_NAME_MAX, e);
}

ErrorName error_name_from_string(const char *s) {
        int i = string_table_lookup(error_name_table, _ERROR_NAME_MAX, s);

        return i < 0 ? _ERROR_NAME_INVALID : (ErrorName) i;
}
