/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of xferctl's pure helpers: JSON writing and escaping, value parsing, terminal
 * text, paths, formatting, job ids. No bus needed. Prints TAP. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "download-plan.h"
#include "format.h"
#include "job-list.h"
#include "job-lookup.h"
#include "job-status.h"
#include "json.h"
#include "network-text.h"
#include "parse.h"
#include "path-util.h"
#include "rate-window.h"
#include "safe-text.h"
#include "table.h"
#include "text.h"
#include "util.h"
#include "wait-text.h"

static unsigned n_tests, n_failed;

#define CHECK(cond)                                                                  \
        do {                                                                         \
                n_tests++;                                                           \
                if (cond)                                                            \
                        printf("ok %u - %s\n", n_tests, #cond);                      \
                else {                                                               \
                        n_failed++;                                                  \
                        printf("not ok %u - %s (%s:%d)\n", n_tests, #cond, __FILE__, __LINE__); \
                }                                                                    \
        } while (0)

static bool str_is(const char *got, const char *want) {
        if (got && streq(got, want))
                return true;
        printf("# got  \"%s\"\n# want \"%s\"\n", got ? got : "(null)", want);
        return false;
}

/* Runs one writer sequence into a string. */
typedef void (*JsonBody)(JsonWriter *w);

static char *json_capture(bool pretty, JsonBody body, int *ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        JsonWriter *w;

        if (!f)
                return NULL;
        w = json_writer_new(f, pretty);
        body(w);
        *ret = json_writer_finish(w);
        json_writer_free(w);
        fclose(f);
        return buf;
}

static void body_escape(JsonWriter *w) {
        json_string(w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é \xe2\x80\xa8 \xff end");
}

static void body_nested(JsonWriter *w) {
        json_begin_object(w);
        json_key(w, "a");
        json_uint(w, UINT64_MAX);
        json_key(w, "b");
        json_begin_array(w);
        json_int(w, -5);
        json_bool(w, true);
        json_null(w);
        json_begin_object(w);
        json_end_object(w);
        json_begin_array(w);
        json_end_array(w);
        json_end_array(w);
        json_key(w, "c\n");
        json_string(w, NULL);
        json_end_object(w);
}

static void body_unbalanced(JsonWriter *w) {
        json_begin_object(w);
        json_key(w, "x");
}

static void body_value_without_key(JsonWriter *w) {
        json_begin_object(w);
        json_uint(w, 1);
        json_end_object(w);
}

static void test_json(void) {
        _cleanup_free_ char *esc = NULL, *compact = NULL, *pretty = NULL, *bad = NULL, *bad2 = NULL;
        int r;

        esc = json_capture(false, body_escape, &r);
        CHECK(r == 0);
        /* The invalid byte \xff becomes U+FFFD; U+2028 is escaped; DEL and é pass. */
        CHECK(str_is(esc, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f é \\u2028 \\ufffd end\"\n"));

        compact = json_capture(false, body_nested, &r);
        CHECK(r == 0);
        CHECK(str_is(compact, "{\"a\":18446744073709551615,\"b\":[-5,true,null,{},[]],\"c\\n\":null}\n"));

        pretty = json_capture(true, body_nested, &r);
        CHECK(r == 0);
        CHECK(str_is(pretty,
                     "{\n"
                     "  \"a\": 18446744073709551615,\n"
                     "  \"b\": [\n"
                     "    -5,\n"
                     "    true,\n"
                     "    null,\n"
                     "    {},\n"
                     "    []\n"
                     "  ],\n"
                     "  \"c\\n\": null\n"
                     "}\n"));

        bad = json_capture(false, body_unbalanced, &r);
        CHECK(r == -EINVAL);
        bad2 = json_capture(false, body_value_without_key, &r);
        CHECK(r == -EINVAL);
}

/* A text for one of the parsers (parse_count() with one of three limits), and what it
 * gives: the value, or the name of the errno it fails with. */
typedef enum {
        PARSE_SIZE,
        PARSE_SECONDS,
        PARSE_COUNT_16,
        PARSE_COUNT_UINT32,
        PARSE_COUNT_UINT64,
} Parser;

typedef struct {
        Parser parser;
        const char *text;
        const char *expected;
} ParseCase;

static const ParseCase parse_cases[] = {
        { PARSE_SIZE, "0", "0" },
        { PARSE_SIZE, "512", "512" },
        { PARSE_SIZE, "2M", "2097152" },
        { PARSE_SIZE, "1.5KiB", "1536" },
        { PARSE_SIZE, "18446744073709551615", "18446744073709551615" },
        { PARSE_SIZE, "18446744073709551616", "ERANGE" },
        { PARSE_SIZE, "16777216T", "ERANGE" },
        { PARSE_SIZE, "1.5", "EINVAL" },
        { PARSE_SIZE, "-1", "EINVAL" },
        { PARSE_SIZE, " 1", "EINVAL" },
        { PARSE_SIZE, "1X", "EINVAL" },
        { PARSE_SIZE, "1.", "EINVAL" },
        { PARSE_SIZE, "", "EINVAL" },
        { PARSE_SECONDS, "30", "30" },
        { PARSE_SECONDS, "10m", "600" },
        { PARSE_SECONDS, "1.5h", "5400" },
        { PARSE_SECONDS, "14d", "1209600" },
        { PARSE_SECONDS, "4294967295", "4294967295" },
        { PARSE_SECONDS, "4294967296", "ERANGE" },
        { PARSE_SECONDS, "1w", "EINVAL" },
        { PARSE_COUNT_16, "16", "16" },
        { PARSE_COUNT_UINT32, "0004294967295", "4294967295" },
        { PARSE_COUNT_UINT64, "18446744073709551615", "18446744073709551615" },
        { PARSE_COUNT_16, "17", "ERANGE" },
        { PARSE_COUNT_UINT32, "4294967296", "ERANGE" },
        { PARSE_COUNT_UINT64, "18446744073709551616", "ERANGE" },
        { PARSE_COUNT_16, "-1", "EINVAL" },
        { PARSE_COUNT_16, " 3", "EINVAL" },
        { PARSE_COUNT_16, "2m", "EINVAL" },
        { PARSE_COUNT_16, "", "EINVAL" },
};

/* What the case's parser makes of its text, as ParseCase.expected says it. */
static char *parse_case(const ParseCase *c) {
        static const uint64_t count_max[] = {
                [PARSE_COUNT_16] = 16, [PARSE_COUNT_UINT32] = UINT32_MAX, [PARSE_COUNT_UINT64] = UINT64_MAX,
        };
        uint64_t value = 0;
        uint32_t seconds = 0;
        char *got = NULL;
        int r;

        switch (c->parser) {
        case PARSE_SIZE:
                r = parse_size(c->text, &value);
                break;
        case PARSE_SECONDS:
                r = parse_seconds(c->text, &seconds);
                value = seconds;
                break;
        default:
                r = parse_count(c->text, count_max[c->parser], &value);
                break;
        }
        if (r == -ERANGE)
                return strdup("ERANGE");
        if (r == -EINVAL)
                return strdup("EINVAL");
        if (r < 0 ? asprintf(&got, "error %d", r) < 0 : asprintf(&got, "%" PRIu64, value) < 0)
                return NULL;
        return got;
}

static void test_parse(void) {
        static const char *const names[] = {
                [PARSE_SIZE] = "parse_size", [PARSE_SECONDS] = "parse_seconds",
                [PARSE_COUNT_16] = "parse_count (max 16)", [PARSE_COUNT_UINT32] = "parse_count (max UINT32_MAX)",
                [PARSE_COUNT_UINT64] = "parse_count (max UINT64_MAX)",
        };
        bool b = false;

        CHECK(parse_bool("Yes", &b) == 0 && b);
        CHECK(parse_bool("off", &b) == 0 && !b);
        CHECK(parse_bool("maybe", &b) == -EINVAL);

        /* One check a case, named by the parser and the text. */
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                _cleanup_free_ char *got = parse_case(c);

                n_tests++;
                if (got && streq(got, c->expected)) {
                        printf("ok %u - %s: \"%s\" gives %s\n", n_tests, names[c->parser], c->text, got);
                        continue;
                }
                n_failed++;
                printf("not ok %u - %s: \"%s\" gives %s instead of %s\n", n_tests, names[c->parser], c->text,
                       got ? got : "(out of memory)", c->expected);
        }
}

static void test_strv_join(void) {
        _cleanup_free_ char *two = strv_join((char *[]) { (char *) "a", (char *) "bc", NULL }, ", ");
        _cleanup_free_ char *none = strv_join(NULL, ", ");

        CHECK(two && streq(two, "a, bc"));
        CHECK(none && streq(none, ""));
}

static void test_text(void) {
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
        uint32_t cp;

        CHECK(utf8_decode("\xc3\xa9", &cp) == 2 && cp == 0xe9);
        CHECK(utf8_decode("\xc0\xaf", &cp) == 0);          /* overlong "/" */
        CHECK(utf8_decode("\xed\xa0\x80", &cp) == 0);      /* surrogate */
        CHECK(utf8_decode("\xf4\x90\x80\x80", &cp) == 0);  /* past U+10FFFF */
        CHECK(utf8_decode("\xe2\x82", &cp) == 0);          /* cut short */

        s1 = text_sanitize("a\033[31mb\nc\td\x7f");
        CHECK(str_is(s1, "a\\x1b[31mb\\nc\\td\\x7f"));
        s2 = text_sanitize("\xc2\x9b ok \xff");                 /* C1 CSI, invalid byte */
        CHECK(str_is(s2, "\\u009b ok \\xff"));

        CHECK(text_width("abc") == 3);
        CHECK(text_width("é") == 1);

        t1 = text_truncate("abcdef", 4);
        CHECK(str_is(t1, "abc…"));
        t2 = text_truncate("abc", 3);
        CHECK(str_is(t2, "abc"));
        t3 = text_truncate("éééé", 3);
        CHECK(str_is(t3, "éé…"));
}

static void test_paths(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *want = NULL;

        CHECK(path_make_absolute("/a//b/./c/.", &a) == 0 && str_is(a, "/a/b/c/"));
        CHECK(path_make_absolute("/a/../b", &b) == 0 && str_is(b, "/a/../b"));
        CHECK(asprintf(&want, "%s/x/y", cwd) > 0);
        CHECK(path_make_absolute("./x//y", &c) == 0 && str_is(c, want));
        CHECK(path_make_absolute("", &d) == -EINVAL);

        CHECK(path_download_target("http://h/dir/file.iso?x=1#f", "/tmp/", &e) == 0 && str_is(e, "/tmp/file.iso"));
        CHECK(path_download_target("http://h/dir/file.iso", "/tmp", &f) == 0 && str_is(f, "/tmp/file.iso"));
        CHECK(path_download_target("http://h/a", "/tmp/not-a-dir-xferctl-test", &g) == 0 &&
              str_is(g, "/tmp/not-a-dir-xferctl-test"));
        fprintf(stderr, "(an error message about a URL naming no file is expected next)\n");
        {
                _cleanup_free_ char *h = NULL;
                CHECK(path_download_target("http://h/", "/tmp/", &h) == -EINVAL);
        }

        {
                _cleanup_free_ char *b1 = path_basename("/x/y/file.txt"), *b2 = path_basename("/x/y/"),
                                    *b3 = path_basename("/");
                CHECK(str_is(b1, "file.txt"));
                CHECK(str_is(b2, "y"));
                CHECK(str_is(b3, ""));
        }
}

static void test_format(void) {
        char b[FORMAT_BYTES_MAX], d[FORMAT_DURATION_MAX], ts[FORMAT_TIMESTAMP_MAX];

        CHECK(str_is(format_bytes(b, 0), "0 B"));
        CHECK(str_is(format_bytes(b, 1023), "1023 B"));
        CHECK(str_is(format_bytes(b, 1536), "1.5 KiB"));
        CHECK(str_is(format_bytes(b, 200ULL << 20), "200 MiB"));
        CHECK(str_is(format_bytes(b, UINT64_MAX), "16.0 EiB"));

        CHECK(str_is(format_duration(d, 45), "45s"));
        CHECK(str_is(format_duration(d, 725), "12m05s"));
        CHECK(str_is(format_duration(d, 3 * 3600 + 120), "3h02m"));
        CHECK(str_is(format_duration(d, 2 * 86400 + 4 * 3600), "2d04h"));

        CHECK(str_is(format_timestamp(ts, 0), "never"));

        CHECK(format_percent(0, 0) == 0);
        CHECK(format_percent(50, 200) == 25);
        CHECK(format_percent(199, 200) == 99);
        CHECK(format_percent(UINT64_MAX - 1, UINT64_MAX) == 99);
        CHECK(format_percent(5, 5) == 100);

        char p[FORMAT_PROGRESS_MAX];
        CHECK(str_is(format_progress(p, 512, UINT64_MAX), "512 B / ?"));
        CHECK(str_is(format_progress(p, 1536, 3072), "1.5 KiB / 3.0 KiB (50%)"));
}

static void test_job_ids(void) {
        _cleanup_free_ char *p = job_id_to_path("0123456789abcdef0123456789abcdef");

        CHECK(job_id_is_valid("0123456789abcdef0123456789abcdef"));
        CHECK(!job_id_is_valid("0123456789ABCDEF0123456789abcdef"));
        CHECK(!job_id_is_valid("0123456789abcdef0123456789abcde"));
        CHECK(str_is(p, "/org/xferd/Transfer1/job/0123456789abcdef0123456789abcdef"));
        CHECK(str_is(job_id_from_path(p), "0123456789abcdef0123456789abcdef"));
        CHECK(job_id_from_path("/org/xferd/Transfer1/job/xyz") == NULL);
        CHECK(job_id_from_path("/org/xferd/Transfer1") == NULL);
}

/* ListJobs once ListJobsCompact is unknown (a daemon from before it), and only then. */
static void test_job_list_fallback(void) {
        const sd_bus_error unknown = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_UNKNOWN_METHOD, "Unknown method");
        const sd_bus_error denied = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_ACCESS_DENIED, "Access denied");

        CHECK(str_is(job_list_fallback(JOB_LIST_METHOD, &unknown), "ListJobs"));
        CHECK(job_list_fallback(JOB_LIST_METHOD, &denied) == NULL);
        CHECK(job_list_fallback(JOB_LIST_METHOD, NULL) == NULL);
        CHECK(job_list_fallback("ListJobs", &unknown) == NULL);
}

#define SEC 1000000ULL

/* Why a job waits, from WaitReason/NextRetryTime, and from the state alone for a daemon
 * without them. */
/* Whether wait_text() (and wait_text_short()) of s at now is want; said on the TAP stream
 * when not. */
static bool wait_text_is(const JobStatus *s, uint64_t now, const WaitContext *ctx, const char *want) {
        char *t = wait_text(s, now, ctx);
        bool ok = str_is(t, want);

        free(t);
        return ok;
}

static bool wait_text_short_is(const JobStatus *s, uint64_t now, const char *want) {
        char *t = wait_text_short(s, now);
        bool ok = str_is(t, want);

        free(t);
        return ok;
}

static void test_wait_text(void) {
        const uint64_t now = 1700000000ULL * SEC;
        WaitContext ctx = { .id = "abc", .max_transfers = 4 };
        JobStatus s = JOB_STATUS_INIT;

        s.state = (char *) "transferring";
        CHECK(wait_text(&s, now, &ctx) == NULL);

        /* From the state: a retry without a time, suspended, queued; no text for an end. */
        s.state = (char *) "transient-error";
        s.error_count = 3;
        s.error_message = (char *) "HTTP 503 Service Unavailable";
        CHECK(wait_text_is(&s, now, &ctx, "retry 3 pending: HTTP 503 Service Unavailable"));
        s.state = (char *) "suspended";
        CHECK(wait_text_is(&s, now, &ctx, "suspended: 'xferctl resume abc' continues it"));
        s.state = (char *) "queued";
        CHECK(wait_text_is(&s, now, NULL, "queued"));
        s.state = (char *) "error";
        CHECK(wait_text(&s, now, &ctx) == NULL);

        /* From the daemon's reason: the retry counts down, rounded up. */
        s.present = JOB_HAS_WAIT_REASON | JOB_HAS_NEXT_RETRY_TIME;
        s.state = (char *) "transient-error";
        s.wait_reason = (char *) "retry-delay";
        s.next_retry_time = now + 552 * SEC - SEC / 2;
        CHECK(wait_text_is(&s, now, &ctx, "retry 3 in 9m12s: HTTP 503 Service Unavailable"));
        s.next_retry_time = now - 1;
        CHECK(wait_text_is(&s, now, &ctx, "retry 3 now: HTTP 503 Service Unavailable"));

        s.state = (char *) "queued";
        s.wait_reason = (char *) "max-transfers";
        CHECK(wait_text_is(&s, now, &ctx, "waiting: 4 transfers running (MaxBackgroundTransfers=4)"));
        s.wait_reason = (char *) "higher-priority";
        CHECK(wait_text_is(&s, now, &ctx, "waiting: jobs of higher priority go first"));
        s.wait_reason = (char *) "no-network";
        s.next_retry_time = now + 4 * SEC;
        s.state = (char *) "transient-error";
        CHECK(wait_text_is(&s, now, &ctx, "retry 3 in 4s or when the network changes: HTTP 503 Service Unavailable"));
        /* Queued and no-network: NetworkManager's connectivity holds it, no retry is due. */
        s.state = (char *) "queued";
        CHECK(wait_text_is(&s, now, &ctx, "waiting for the network: NetworkManager reports no full connectivity"));
        CHECK(wait_text_short_is(&s, now, "no-network"));
        s.wait_reason = (char *) "bandwidth-limit";
        CHECK(wait_text_is(&s, now, &ctx, "waiting: the bandwidth limit is used up"));
        s.wait_reason = (char *) "metered-network";
        CHECK(wait_text_is(&s, now, &ctx, "waiting for an unmetered network (CostPolicy=unmetered; 'xferctl status' says why)"));
        s.wait_reason = (char *) "captive-portal";
        CHECK(wait_text_is(&s, now, &ctx, "waiting: the network has a captive portal; log in to it"));
        /* A token newer than this client is shown as it is. */
        s.wait_reason = (char *) "solar-eclipse";
        CHECK(wait_text_is(&s, now, &ctx, "waiting: solar-eclipse"));
        s.wait_reason = (char *) "metered-network";

        /* The short forms of the list's WAITING column. */
        CHECK(wait_text_short_is(&s, now, "metered-network"));
        s.wait_reason = (char *) "retry-delay";
        s.next_retry_time = now + 250 * SEC;
        CHECK(wait_text_short_is(&s, now, "retry in 4m10s"));
        s.present = 0;
        s.state = (char *) "transient-error";
        CHECK(wait_text_short_is(&s, now, "retry 3"));
        s.state = (char *) "transferring";
        CHECK(wait_text_short_is(&s, now, ""));
}

/* What xferd believes about the network, in words for `xferctl status`. */
static void test_network_text(void) {
        static const struct {
                NetworkFacts facts;
                const char *summary, *why_part;
        } rows[] = {
                { { "networkmanager", "yes", "full", "unmetered" }, "metered, full connectivity",
                  "NetworkManager says Metered=yes, Connectivity=full. Jobs with CostPolicy=unmetered wait" },
                { { "networkmanager", "guess-yes", "full", NULL }, "metered, full connectivity",
                  "CostPolicy=always transfer." },
                { { "networkmanager", "no", "portal", "always" }, "unmetered, behind a captive portal",
                  "No job starts until the portal lets it through" },
                { { "networkmanager", "guess-no", "limited", NULL }, "unmetered, limited connectivity",
                  "until NetworkManager reports full connectivity" },
                { { "networkmanager", "unknown", "unknown", NULL },
                  "unmetered (its cost is unknown), connectivity unknown", "Every job may transfer." },
                { { "absent", "unknown", "unknown", NULL }, "unmetered, connectivity unknown",
                  "NetworkManager is not on the system bus" },
                { { "not-watching", "unknown", "unknown", NULL }, "not watched", "it asks as soon as a job is" },
                { { "asking", NULL, NULL, NULL }, "asking NetworkManager", "answer" },
                { { "something-new", NULL, NULL, NULL }, "something-new", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *summary = NULL, *why = NULL;

                CHECK(network_status_text(&rows[i].facts, &summary, &why) == 0);
                CHECK(str_is(summary, rows[i].summary));
                CHECK(why && strstr(why, rows[i].why_part));
        }
        _cleanup_free_ char *summary = NULL, *why = NULL;
        NetworkFacts with_default = { "networkmanager", "yes", "full", "always" };
        CHECK(network_status_text(&with_default, &summary, &why) == 0);
        CHECK(why && strstr(why, "Background jobs get CostPolicy=always unless their creator chose.") != NULL);
}

/* The client's own rate: steady, and never dragged down by a sample from before a pause. */
static void test_rate_window(void) {
        RateWindow w;
        double r;

        rate_window_reset(&w);
        CHECK(rate_window_get(&w, 0) < 0);

        /* 1 MB/s, a sample every half second. */
        for (uint64_t i = 0; i <= 20; i++)
                rate_window_add(&w, 100 * SEC + i * SEC / 2, i * 500000);
        r = rate_window_get(&w, 110 * SEC);
        CHECK(r > 0.95e6 && r < 1.05e6);

        /* Nothing for a whole window: a stall reads 0, not the last rate. */
        CHECK(rate_window_get(&w, 116 * SEC) == 0);

        /* 40 s queued (no samples), then 3 MB/s: the old samples are gone; after a second the
         * rate is the new one, not 225 KB/s. */
        for (uint64_t i = 0; i <= 2; i++)
                rate_window_add(&w, 150 * SEC + i * SEC / 2, 10000000 + i * 1500000);
        r = rate_window_get(&w, 151 * SEC);
        CHECK(r > 2.9e6 && r < 3.1e6);

        /* Too little history says nothing rather than something wild. */
        rate_window_reset(&w);
        rate_window_add(&w, 200 * SEC, 0);
        rate_window_add(&w, 200 * SEC + SEC / 10, 1000000);
        CHECK(rate_window_get(&w, 200 * SEC + SEC / 10) < 0);

        /* A restart from zero drops what came before. */
        rate_window_reset(&w);
        rate_window_add(&w, 300 * SEC, 5000000);
        rate_window_add(&w, 301 * SEC, 6000000);
        rate_window_add(&w, 301 * SEC + SEC / 2, 0);
        rate_window_add(&w, 302 * SEC + SEC / 2, 2000000);
        r = rate_window_get(&w, 302 * SEC + SEC / 2);
        CHECK(r > 1.9e6 && r < 2.1e6);
}

static void test_download_plan(void) {
        char **urls = NULL;
        size_t n = 0;
        DownloadPlan p = { 0 };

        CHECK(download_arg_is_url("https://example.org/a"));
        CHECK(download_arg_is_url("http://h"));
        CHECK(!download_arg_is_url("./a://b"));
        CHECK(!download_arg_is_url("file.iso"));
        CHECK(!download_arg_is_url("://x"));

        CHECK(download_list_parse("# comment\n\n  http://h/a  \r\nhttp://h/b\n#x\nhttp://h/c", &urls, &n) == 0);
        CHECK(n == 3);
        CHECK(n == 3 && str_is(urls[0], "http://h/a") && str_is(urls[1], "http://h/b") && str_is(urls[2], "http://h/c"));
        CHECK(n == 3 && !urls[3]);      /* still a NULL-terminated list */

        {
                char *args[] = { (char *) "http://h/x/one.iso", (char *) "http://h/two.iso" };
                CHECK(download_plan_make(args, 2, urls, 1, "/tmp", &p) == 0);
                CHECK(p.n == 3 && str_is(p.targets[0].local, "/tmp/one.iso") && str_is(p.targets[1].local, "/tmp/two.iso") &&
                      str_is(p.targets[2].local, "/tmp/a"));
                download_plan_done(&p);
        }
        {
                /* download URL PATH: the last argument, not a URL, is the destination. */
                char *args[] = { (char *) "http://h/x/one.iso", (char *) "/tmp/renamed.iso" };
                CHECK(download_plan_make(args, 2, NULL, 0, NULL, &p) == 0);
                CHECK(p.n == 1 && str_is(p.targets[0].local, "/tmp/renamed.iso"));
                download_plan_done(&p);
        }
        fprintf(stderr, "(three error messages about bad download arguments are expected next)\n");
        {
                char *args[] = { (char *) "http://h/a/same", (char *) "http://h/b/same" };
                CHECK(download_plan_make(args, 2, NULL, 0, "/tmp", &p) == -EINVAL);
        }
        {
                char *args[] = { (char *) "nota-url", (char *) "http://h/b", (char *) "/tmp" };
                CHECK(download_plan_make(args, 3, NULL, 0, NULL, &p) == -EINVAL);
        }
        CHECK(download_plan_make(NULL, 0, NULL, 0, "/tmp", &p) == -EINVAL);

        for (size_t i = 0; i < n; i++)
                free(urls[i]);
        free(urls);
}

/* A table cut to a width: the shrinkable columns give way, with an ellipsis. */
static void test_table_width(void) {
        static const char *const headers[] = { "ID", "NAME", "STATE" };
        Table *t = table_new(3, headers);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        table_add(t, "0123456789");
        table_add(t, "a rather long name of a job");
        table_add(t, "queued");
        CHECK(table_width(t) == 10 + 2 + 27 + 2 + 6);
        table_set_max_width(t, 30);
        table_set_shrinkable(t, 1, 4);
        CHECK(table_width(t) == 30);
        CHECK(table_print(t, f) == 0);
        fclose(f);
        CHECK(str_is(buf, "ID          NAME        STATE\n0123456789  a rather …  queued\n"));
        free(buf);
        table_free(t);
}

int main(void) {
        test_json();
        test_parse();
        test_strv_join();
        test_text();
        test_paths();
        test_format();
        test_job_ids();
        test_job_list_fallback();
        test_wait_text();
        test_network_text();
        test_rate_window();
        test_download_plan();
        test_table_width();

        printf("1..%u\n", n_tests);
        printf("# %u passed, %u failed\n", n_tests - n_failed, n_failed);
        return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
