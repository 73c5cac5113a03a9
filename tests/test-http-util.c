/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The small HTTP helpers downloads and uploads share (daemon/http-util.c). */
#include <glib.h>
#include <string.h>

#include "http-settings.h"
#include "http-util.h"
#include "test-cases.h"

static void test_header_value(void) {
        const char *line = "content-length:   1234  \r\n", *v;
        size_t n;

        g_assert_true(http_header_value(line, strlen(line), "Content-Length", &v, &n));
        g_assert_cmpuint(n, ==, 4);
        g_assert_true(strncmp(v, "1234", n) == 0);
        g_assert_false(http_header_value(line, strlen(line), "Content-Type", &v, &n));
        /* A name that is only a prefix of the header's is not it. */
        const char *longer = "Content-Length-Extra: 1\r\n";
        g_assert_false(http_header_value(longer, strlen(longer), "Content-Length", &v, &n));
}

static void test_parse_u64(void) {
        uint64_t v;

        g_assert_true(http_parse_u64("42", 2, &v));
        g_assert_cmpuint(v, ==, 42);
        g_assert_false(http_parse_u64("-1", 2, &v));
        g_assert_false(http_parse_u64("12a", 3, &v));
        g_assert_false(http_parse_u64("", 0, &v));
        g_assert_false(http_parse_u64("99999999999999999999999", 23, &v));
}

/* Every form of Content-Range the parser meets: a range of a known total, of an unknown one
 * (total UINT64_MAX), an unsatisfied range (start UINT64_MAX), and what is not one. */
static const struct {
        const char *value;
        int n;                  /* the bytes given; -1: all of value */
        bool ok;
        uint64_t start, total;
} content_ranges[] = {
        { "bytes 100-199/1000", -1, true, 100, 1000 },
        { "bytes 5-9/*", -1, true, 5, UINT64_MAX },
        { "bytes 100-199/*", -1, true, 100, UINT64_MAX },
        { "bytes */77", -1, true, UINT64_MAX, 77 },
        { "bytes */1000", -1, true, UINT64_MAX, 1000 },
        { "items 1-2/3", -1, false, 0, 0 },
        { "", -1, false, 0, 0 },
        /* Only the n bytes given count: a header value is not NUL-terminated. */
        { "bytes 100-199/1000", 5, false, 0, 0 },
};

static void test_content_range(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(content_ranges); i++) {
                const char *value = content_ranges[i].value;
                size_t n = content_ranges[i].n < 0 ? strlen(value) : (size_t) content_ranges[i].n;
                uint64_t start, total;

                g_test_message("Content-Range: %.*s", (int) n, value);
                g_assert_cmpint(http_parse_content_range(value, n, &start, &total), ==, content_ranges[i].ok);
                if (!content_ranges[i].ok)
                        continue;
                g_assert_cmpuint(start, ==, content_ranges[i].start);
                g_assert_cmpuint(total, ==, content_ranges[i].total);
        }
}

static void test_retry_after(void) {
        g_assert_cmpuint(http_parse_retry_after("120", 3), ==, 120 * G_USEC_PER_SEC);
        /* A server cannot hold a job back for more than a day, nor overflow the delay. */
        g_assert_cmpuint(http_parse_retry_after("999999999999", 12), ==, 24ULL * 3600 * G_USEC_PER_SEC);
        const char *past = "Wed, 21 Oct 2015 07:28:00 GMT";
        g_assert_cmpuint(http_parse_retry_after(past, strlen(past)), ==, 0);
        g_assert_cmpuint(http_parse_retry_after("soon", 4), ==, 0);
}

static void test_status_line(void) {
        char reason[64];
        long status;
        const char *h1 = "HTTP/1.1 404 Not Found\r\n", *h2 = "HTTP/2 200 \r\n";

        g_assert_true(http_parse_status_line(h1, strlen(h1), &status, reason, sizeof reason));
        g_assert_cmpint(status, ==, 404);
        g_assert_cmpstr(reason, ==, "Not Found");
        g_assert_true(http_parse_status_line(h2, strlen(h2), &status, reason, sizeof reason));
        g_assert_cmpint(status, ==, 200);
        g_assert_cmpstr(reason, ==, "");
        g_assert_false(http_parse_status_line("garbage", 7, &status, reason, sizeof reason));
}

static void test_transient(void) {
        g_assert_true(http_status_is_transient(503));
        g_assert_true(http_status_is_transient(408));
        g_assert_true(http_status_is_transient(429));
        g_assert_false(http_status_is_transient(404));
        g_assert_false(http_status_is_transient(416));
}

static void test_origin(void) {
        g_autofree char *o = http_url_origin("HTTPS://Example.ORG/a?b");

        g_assert_cmpstr(o, ==, "https://example.org:443");
        g_assert_true(http_same_origin("http://h/a", "http://h:80/b"));
        g_assert_false(http_same_origin("http://h/a", "https://h/a"));
        g_assert_false(http_same_origin("http://h/a", "http://h:8080/a"));
        g_assert_false(http_same_origin("http://h/a", "http://evil/a"));
        g_assert_false(http_same_origin("not a url", "http://h/"));
}

static size_t slist_length(const struct curl_slist *l) {
        size_t n = 0;

        for (; l; l = l->next)
                n++;
        return n;
}

/* A job's headers go to the origin it named and nowhere else; a request's copy is its own. */
static void test_settings(void) {
        char *headers[] = { (char *) "Authorization: Bearer secret", (char *) "X-A: 1", NULL };
        HttpSettings job = { .headers = headers, .proxy = (char *) "", .allow_insecure_redirect = true };
        HttpSettings copy, none = { .headers = NULL };
        g_autofree char *origin = http_url_origin("https://example.org/dir/file");
        struct curl_slist *l = NULL;

        g_assert_cmpint(http_settings_copy(&job, &copy), ==, 0);
        g_assert_true(copy.headers != job.headers);
        g_assert_cmpstr(copy.headers[1], ==, "X-A: 1");
        g_assert_null(copy.proxy);              /* "" is the daemon's way: none of the job's */
        g_assert_true(copy.allow_insecure_redirect);

        g_assert_cmpint(http_settings_append_headers(&copy, "https://example.org:443/other", origin, &l), ==, 0);
        g_assert_cmpuint(slist_length(l), ==, 2);
        g_assert_cmpstr(l->data, ==, "Authorization: Bearer secret");
        /* Another scheme, port or host, or no origin at all: nothing more. */
        g_assert_cmpint(http_settings_append_headers(&copy, "http://example.org/dir/file", origin, &l), ==, 0);
        g_assert_cmpint(http_settings_append_headers(&copy, "https://example.org:8443/", origin, &l), ==, 0);
        g_assert_cmpint(http_settings_append_headers(&copy, "https://evil.example/", origin, &l), ==, 0);
        g_assert_cmpint(http_settings_append_headers(&copy, "https://example.org/", NULL, &l), ==, 0);
        g_assert_cmpint(http_settings_append_headers(&none, "https://example.org/", origin, &l), ==, 0);
        g_assert_cmpuint(slist_length(l), ==, 2);
        curl_slist_free_all(l);

        http_settings_done(&copy);
        g_assert_null(copy.headers);
        job.proxy = (char *) "http://proxy:3128";
        g_assert_cmpint(http_settings_copy(&job, &copy), ==, 0);
        g_assert_cmpstr(copy.proxy, ==, "http://proxy:3128");
        http_settings_done(&copy);
}

static void check_curl_failure(CURLcode code, TransferOutcome outcome, ErrorName error_name) {
        TransferResult r = { .outcome = TRANSFER_OK };
        char msg[512];

        g_test_message("%s", curl_easy_strerror(code));
        http_result_from_curl(code, NULL, "http://u:secret@h/f?q", &r, msg, sizeof msg);
        g_assert_cmpint(r.outcome, ==, outcome);
        g_assert_cmpint(r.error_name, ==, error_name);
        g_assert_null(strstr(r.message, "secret"));
        g_assert_nonnull(strstr(r.message, " for http://h/f"));
}

/* How each failure of curl counts, and what its message says. */
static void test_curl_failures(void) {
        static const CURLcode bad_certificate[] = {
                CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
                CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                CURLE_SSL_INVALIDCERTSTATUS,
        };
        TransferResult r;
        char msg[512];

        /* Not listed: the network, worth another try. */
        check_curl_failure(CURLE_COULDNT_CONNECT, TRANSFER_TRANSIENT, ERROR_NAME_NETWORK);
        check_curl_failure(CURLE_COULDNT_RESOLVE_HOST, TRANSFER_TRANSIENT, ERROR_NAME_NETWORK);
        check_curl_failure(CURLE_OPERATION_TIMEDOUT, TRANSFER_TRANSIENT, ERROR_NAME_TIMEOUT);
        check_curl_failure(CURLE_TOO_MANY_REDIRECTS, TRANSFER_FATAL, ERROR_NAME_TOO_MANY_REDIRECTS);
        check_curl_failure(CURLE_UNSUPPORTED_PROTOCOL, TRANSFER_FATAL, ERROR_NAME_UNSUPPORTED_PROTOCOL);
        /* A certificate is not going to change by itself; a handshake may work next time. */
        for (size_t i = 0; i < G_N_ELEMENTS(bad_certificate); i++)
                check_curl_failure(bad_certificate[i], TRANSFER_FATAL, ERROR_NAME_TLS);
        check_curl_failure(CURLE_SSL_CONNECT_ERROR, TRANSFER_TRANSIENT, ERROR_NAME_TLS);
        check_curl_failure(CURLE_URL_MALFORMAT, TRANSFER_FATAL, ERROR_NAME_NETWORK);

        /* curl's own words when it gave some; for a refused protocol, ours. */
        http_result_from_curl(CURLE_COULDNT_CONNECT, "Connection refused", "http://h/", &r, msg, sizeof msg);
        g_assert_cmpstr(r.message, ==, "Connection refused for http://h/");
        g_assert_cmpstr(r.summary, ==, curl_easy_strerror(CURLE_COULDNT_CONNECT));
        http_result_from_curl(CURLE_UNSUPPORTED_PROTOCOL, "Protocol \"ftp\" not supported", "http://h/", &r,
                              msg, sizeof msg);
        g_assert_true(g_str_has_prefix(r.message, "A redirect led to a protocol that is not allowed"));
        g_assert_cmpstr(r.summary, ==, "Redirect to a protocol that is not allowed");
}

const TestCase test_cases[] = {
        { "/http-util/header-value", test_header_value },
        { "/http-util/parse-u64", test_parse_u64 },
        { "/http-util/retry-after", test_retry_after },
        { "/http-util/content-range", test_content_range },
        { "/http-util/status-line", test_status_line },
        { "/http-util/transient", test_transient },
        { "/http-util/origin", test_origin },
        { "/http-util/settings", test_settings },
        { "/http-util/curl-failures", test_curl_failures },
        { NULL, NULL }
};
