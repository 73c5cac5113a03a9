/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of error names: the store keeps these strings and the contract names them, so a
 * changed spelling is a bug this test catches. */
#include <glib.h>

#include "error-name.h"
#include "test-cases.h"

static const struct {
        ErrorName e;
        const char *s;
} contract[] = {
        { ERROR_NAME_HTTP, "Http" },
        { ERROR_NAME_NETWORK, "Network" },
        { ERROR_NAME_TIMEOUT, "Timeout" },
        { ERROR_NAME_TLS, "Tls" },
        { ERROR_NAME_TOO_MANY_REDIRECTS, "TooManyRedirects" },
        { ERROR_NAME_UNSUPPORTED_PROTOCOL, "UnsupportedProtocol" },
        { ERROR_NAME_LOCAL_FILE, "LocalFile" },
        { ERROR_NAME_NO_PROGRESS, "NoProgress" },
        { ERROR_NAME_COMPLETE_FAILED, "CompleteFailed" },
        { ERROR_NAME_INTEGRITY, "Integrity" },
        { ERROR_NAME_INVALID_STATE, "InvalidState" },
        { ERROR_NAME_NO_SUCH_JOB, "NoSuchJob" },
        { ERROR_NAME_EMPTY, "Empty" },
        { ERROR_NAME_TOO_MANY_JOBS, "TooManyJobs" },
        { ERROR_NAME_TOO_MANY_FILES, "TooManyFiles" },
        { ERROR_NAME_INVALID_PATH, "InvalidPath" },
        { ERROR_NAME_STRING_TOO_LONG, "StringTooLong" },
};

static void test_spelling(void) {
        g_assert_cmpuint(G_N_ELEMENTS(contract), ==, _ERROR_NAME_MAX);
        for (size_t i = 0; i < G_N_ELEMENTS(contract); i++) {
                g_assert_cmpstr(error_name_to_string(contract[i].e), ==, contract[i].s);
                g_assert_cmpint(error_name_from_string(contract[i].s), ==, contract[i].e);
        }
}

static void test_out_of_range(void) {
        g_assert_null(error_name_to_string(_ERROR_NAME_MAX));
        g_assert_null(error_name_to_string(_ERROR_NAME_INVALID));
        g_assert_cmpint(error_name_from_string(NULL), ==, _ERROR_NAME_INVALID);
        g_assert_cmpint(error_name_from_string(""), ==, _ERROR_NAME_INVALID);
        /* Exact spelling: the store and the contract never vary the case. */
        g_assert_cmpint(error_name_from_string("localfile"), ==, _ERROR_NAME_INVALID);
        g_assert_cmpint(error_name_from_string("org.xferd.Transfer1.Error.Http"), ==, _ERROR_NAME_INVALID);
}

const TestCase test_cases[] = {
        { "/error-name/spelling", test_spelling },
        { "/error-name/out-of-range", test_out_of_range },
        { NULL, NULL }
};
