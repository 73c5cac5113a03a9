/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of the apt method: apt's message format, the configuration, hashes and
 * the failure reasons apt gets. The method as a whole is tested with the real apt-get
 * (tests/test-apt.c). */

#include <glib.h>
#include <string.h>

#include "failure.h"
#include "hashes.h"
#include "message.h"
#include "settings.h"
#include "test-cases.h"

static Message *parse(const char *text) {
        Message *m = NULL;

        g_assert_cmpint(message_parse(text, strlen(text), &m), ==, 0);
        return m;
}

static void test_message_parse(void) {
        Message *m = parse("600 URI Acquire\nURI: xferd+http://h/a b\nfilename:/x/y\n"
                           "Multi: one\n two\nEmpty:\n");

        g_assert_cmpuint(m->code, ==, 600);
        g_assert_cmpstr(m->status, ==, "600 URI Acquire");
        g_assert_cmpstr(message_get(m, "URI"), ==, "xferd+http://h/a b");
        g_assert_cmpstr(message_get(m, "FileName"), ==, "/x/y");   /* any case */
        g_assert_cmpstr(message_get(m, "Multi"), ==, "one\ntwo");
        g_assert_cmpstr(message_get(m, "Empty"), ==, "");
        g_assert_null(message_get(m, "Missing"));
        message_free(m);

        g_assert_cmpint(message_parse("URI Acquire\n", 12, &m), ==, -EBADMSG);
        g_assert_cmpint(message_parse("600 x\nno colon here\n", 20, &m), ==, -EBADMSG);
}

static void test_message_reader(void) {
        MessageReader r = { 0 };
        Message *m = NULL;
        const char *input = "\n601 Configuration\nConfig-Item: A::B=c\n\n600 URI Acquire\nURI: x";

        /* Byte by byte: a message is only handed out once its empty line is in. */
        for (size_t i = 0; i < strlen(input); i++) {
                g_assert_cmpint(message_reader_feed(&r, input + i, 1), ==, 0);
                int k = message_reader_next(&r, &m);
                if (k == 1) {
                        g_assert_cmpuint(m->code, ==, 601);
                        g_assert_cmpstr(message_get(m, "Config-Item"), ==, "A::B=c");
                        g_clear_pointer(&m, message_free);
                }
        }
        g_assert_true(message_reader_pending(&r));
        g_assert_cmpint(message_reader_next(&r, &m), ==, 0);
        g_assert_cmpint(message_reader_feed(&r, "\n\n", 2), ==, 0);
        g_assert_cmpint(message_reader_next(&r, &m), ==, 1);
        g_assert_cmpstr(message_get(m, "URI"), ==, "x");
        message_free(m);
        g_assert_false(message_reader_pending(&r));
        message_reader_done(&r);
}

static void test_message_out(void) {
        MessageOut o = { 0 };
        size_t len;

        message_out_begin(&o, "400 URI Failure");
        message_out_add(&o, "URI", "xferd+http://h/p");
        message_out_add(&o, "Message", "bad\r\nreason\x01 from a server");
        message_out_add(&o, "Empty", "");
        message_out_add(&o, "Null", NULL);
        message_out_addf(&o, "Size", "%d", 42);
        g_assert_cmpstr(message_out_end(&o, &len), ==,
                        "400 URI Failure\nURI: xferd+http://h/p\nMessage: bad  reason  from a server\nSize: 42\n\n");
        g_assert_cmpuint(len, ==, strlen(o.buf));
        free(o.buf);
}

static Config config_of(const char *text) {
        Config c = { 0 };
        Message *m = parse(text);

        g_assert_cmpint(config_from_message(&c, m), ==, 0);
        message_free(m);
        return c;
}

static void test_settings_defaults(void) {
        Config c = config_of("601 Configuration\nConfig-Item: APT::Sandbox::User=_apt\n");
        Settings s;
        char *warnings = NULL;

        g_assert_cmpint(settings_resolve(&s, &c, "xferd+http", &warnings), ==, 0);
        g_assert_null(warnings);
        g_assert_cmpstr(s.sandbox_user, ==, "_apt");
        g_assert_true(s.drop_privileges);
        g_assert_false(s.debug);
        g_assert_cmpstr(s.priority, ==, "foreground");
        g_assert_null(s.cost_policy);
        g_assert_cmpuint(s.bandwidth_limit, ==, 0);
        g_assert_cmpuint(s.timeout_usec, ==, 30 * G_USEC_PER_SEC);
        g_assert_cmpuint(s.start_timeout_usec, ==, 5 * G_USEC_PER_SEC);
        g_assert_false(s.fallback);
        settings_done(&s);
        config_done(&c);
}

static void test_settings_values(void) {
        Config c = config_of("601 Configuration\n"
                             "Config-Item: Acquire::http::Timeout=7\n"
                             "Config-Item: Acquire::https::Timeout=9\n"
                             "Config-Item: acquire::XFERD::priority=low\n"
                             "Config-Item: Acquire::xferd::CostPolicy=unmetered\n"
                             "Config-Item: Acquire::xferd::BandwidthLimit=2M\n"
                             "Config-Item: Acquire::xferd::StartTimeout=60\n"
                             "Config-Item: Acquire::xferd::Fallback=true\n"
                             "Config-Item: Debug::Acquire::xferd=1\n"
                             "Config-Item: Debug::NoDropPrivs=true\n"
                             "Config-Item: Odd%3dName=a%0ab\n");
        Settings s;

        g_assert_cmpstr(config_get(&c, "Odd=Name"), ==, "a\nb");   /* apt's %-encoding */
        g_assert_cmpint(settings_resolve(&s, &c, "xferd+http", NULL), ==, 0);
        g_assert_cmpstr(s.priority, ==, "low");
        g_assert_cmpstr(s.cost_policy, ==, "unmetered");
        g_assert_cmpuint(s.bandwidth_limit, ==, 2 * 1024 * 1024);
        g_assert_cmpuint(s.timeout_usec, ==, 7 * G_USEC_PER_SEC);
        /* Never longer than the timeout of an acquire. */
        g_assert_cmpuint(s.start_timeout_usec, ==, 7 * G_USEC_PER_SEC);
        g_assert_true(s.fallback);
        g_assert_true(s.debug);
        g_assert_false(s.drop_privileges);
        settings_done(&s);

        /* xferd+https takes apt's https settings first. */
        g_assert_cmpint(settings_resolve(&s, &c, "xferd+https", NULL), ==, 0);
        g_assert_cmpuint(s.timeout_usec, ==, 9 * G_USEC_PER_SEC);
        settings_done(&s);
        config_done(&c);

        /* The method's own timeout wins over apt's; Dl-Limit (KiB/s) stands in for a limit. */
        c = config_of("601 Configuration\nConfig-Item: Acquire::http::Timeout=7\n"
                      "Config-Item: Acquire::xferd+http::Timeout=11\nConfig-Item: Acquire::http::Dl-Limit=100\n");
        g_assert_cmpint(settings_resolve(&s, &c, "xferd+http", NULL), ==, 0);
        g_assert_cmpuint(s.timeout_usec, ==, 11 * G_USEC_PER_SEC);
        g_assert_cmpuint(s.bandwidth_limit, ==, 100 * 1024);
        settings_done(&s);
        config_done(&c);
}

static void test_settings_bad_values(void) {
        Config c = config_of("601 Configuration\n"
                             "Config-Item: Acquire::xferd::Priority=urgent\n"
                             "Config-Item: Acquire::xferd::CostPolicy=sometimes\n"
                             "Config-Item: Acquire::xferd::BandwidthLimit=fast\n"
                             "Config-Item: Acquire::xferd::Timeout=-3\n"
                             "Config-Item: Acquire::xferd::Fallback=perhaps\n");
        Settings s;
        char *warnings = NULL;

        g_assert_cmpint(settings_resolve(&s, &c, "xferd+http", &warnings), ==, 0);
        g_assert_cmpstr(s.priority, ==, "foreground");
        g_assert_null(s.cost_policy);
        g_assert_cmpuint(s.bandwidth_limit, ==, 0);
        g_assert_cmpuint(s.timeout_usec, ==, 30 * G_USEC_PER_SEC);
        g_assert_false(s.fallback);
        g_assert_nonnull(strstr(warnings, "Priority \"urgent\""));
        g_assert_nonnull(strstr(warnings, "CostPolicy \"sometimes\""));
        g_assert_nonnull(strstr(warnings, "BandwidthLimit \"fast\""));
        g_assert_nonnull(strstr(warnings, "Timeout \"-3\""));
        g_assert_nonnull(strstr(warnings, "Fallback \"perhaps\""));
        g_free(warnings);
        settings_done(&s);
        config_done(&c);
}

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_SHA512 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static HashList hashes_of(const char *data) {
        Hasher *h = NULL;
        HashList l;

        g_assert_cmpint(hasher_new(&h, (1u << _HASH_MAX) - 1), ==, 0);
        g_assert_cmpint(hasher_update(h, data, 1), ==, 0);          /* in two pieces */
        g_assert_cmpint(hasher_update(h, data + 1, strlen(data) - 1), ==, 0);
        g_assert_cmpint(hasher_finish(h, &l), ==, 0);
        hasher_free(h);
        return l;
}

static void test_hashes(void) {
        HashList got = hashes_of("abc"), expected;
        Message *m;
        char buf[200];

        g_assert_cmpstr(got.hex[HASH_MD5], ==, ABC_MD5);
        g_assert_cmpstr(got.hex[HASH_SHA1], ==, ABC_SHA1);
        g_assert_cmpstr(got.hex[HASH_SHA256], ==, ABC_SHA256);
        g_assert_cmpstr(got.hex[HASH_SHA512], ==, ABC_SHA512);
        g_assert_true(got.have_size);
        g_assert_cmpuint(got.size, ==, 3);

        /* Upper-case hex from apt is the same hash. */
        m = parse("600 URI Acquire\nExpected-SHA256: " "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
                  "\nExpected-MD5Sum: " ABC_MD5 "\nExpected-Checksum-FileSize: 3\n");
        g_assert_cmpint(hash_list_from_acquire(&expected, m), ==, 0);
        message_free(m);
        g_assert_true(hash_list_usable(&expected));
        g_assert_cmpuint(hash_list_wanted(&expected), ==, (1u << HASH_SHA256) | (1u << HASH_MD5));
        g_assert_true(hash_list_matches(&expected, &got));
        g_assert_cmpstr(hash_list_checksum(&expected, buf, sizeof buf), ==, "sha256:" ABC_SHA256);

        /* One differing hash, or a differing size, is a mismatch. */
        HashList wrong = got;
        wrong.hex[HASH_MD5][0] = wrong.hex[HASH_MD5][0] == '0' ? '1' : '0';
        g_assert_false(hash_list_matches(&expected, &wrong));
        wrong = got;
        wrong.size = 4;
        g_assert_false(hash_list_matches(&expected, &wrong));

        /* Nothing in common is no match either; a size alone is something in common. */
        HashList only_sha512 = { .have_size = false };
        strcpy(only_sha512.hex[HASH_SHA512], ABC_SHA512);
        HashList only_sha1 = { .have_size = false };
        strcpy(only_sha1.hex[HASH_SHA1], ABC_SHA1);
        g_assert_false(hash_list_matches(&only_sha512, &only_sha1));
        g_assert_true(hash_list_matches(&only_sha512, &got));
        g_assert_cmpstr(hash_list_checksum(&only_sha512, buf, sizeof buf), ==, "sha512:" ABC_SHA512);
        HashList only_size = { .have_size = true, .size = 3 };
        g_assert_true(hash_list_matches(&only_size, &got));

        /* No usable hash: every type is computed, none goes to xferd. */
        g_assert_false(hash_list_usable(&only_sha1));
        g_assert_cmpuint(hash_list_wanted(&only_sha1), ==, (1u << _HASH_MAX) - 1);
        g_assert_null(hash_list_checksum(&only_sha1, buf, sizeof buf));

        m = parse("600 URI Acquire\nExpected-SHA256: abc\n");
        g_assert_cmpint(hash_list_from_acquire(&expected, m), ==, -EBADMSG);
        message_free(m);
        m = parse("600 URI Acquire\nExpected-Checksum-FileSize: 12x\n");
        g_assert_cmpint(hash_list_from_acquire(&expected, m), ==, -EBADMSG);
        message_free(m);

        /* The fields of a 201 URI Done, with apt's old MD5-Hash. */
        MessageOut o = { 0 };
        message_out_begin(&o, "201 URI Done");
        hash_list_to_message(&got, &o);
        const char *text = message_out_end(&o, NULL);
        g_assert_nonnull(strstr(text, "\nMD5-Hash: " ABC_MD5 "\n"));
        g_assert_nonnull(strstr(text, "\nMD5Sum-Hash: " ABC_MD5 "\n"));
        g_assert_nonnull(strstr(text, "\nSHA1-Hash: " ABC_SHA1 "\n"));
        g_assert_nonnull(strstr(text, "\nSHA256-Hash: " ABC_SHA256 "\n"));
        g_assert_nonnull(strstr(text, "\nSHA512-Hash: " ABC_SHA512 "\n"));
        g_assert_nonnull(strstr(text, "\nChecksum-FileSize-Hash: 3\n"));
        free(o.buf);
}

/* What failure_from_xferd() makes of an error of xferd; -1 and NULL: not checked. */
static const struct {
        const char *name, *message;
        int kind;
        const char *reason;
        int transient;
} failure_cases[] = {
        { "org.xferd.Transfer1.Error.Http", "HTTP 304 Not Modified", FAILURE_NOT_MODIFIED, NULL, -1 },
        { "org.xferd.Transfer1.Error.Http", "HTTP 404 Not Found for http://x/y", FAILURE_FAIL, "HttpError404", false },
        { "Http", "HTTP 503 Service Unavailable", -1, "HttpError503", true },
        { "org.xferd.Transfer1.Error.Network", "Could not connect", -1, "ConnectionFailed", true },
        { "org.xferd.Transfer1.Error.Integrity", "sha256 differs", -1, "HashSumMismatch", false },
        { "org.xferd.Transfer1.Error.LocalFile", "EACCES", -1, "XferdLocalFile", -1 },
};

static void test_failures(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(failure_cases); i++) {
                Failure f;

                g_test_message("%s: %s", failure_cases[i].name, failure_cases[i].message);
                failure_from_xferd(failure_cases[i].name, failure_cases[i].message, &f);
                if (failure_cases[i].kind >= 0)
                        g_assert_cmpint(f.kind, ==, failure_cases[i].kind);
                if (failure_cases[i].reason)
                        g_assert_cmpstr(f.reason, ==, failure_cases[i].reason);
                if (failure_cases[i].transient >= 0)
                        g_assert_cmpint(f.transient, ==, failure_cases[i].transient);
        }
        g_assert_cmpuint(failure_http_status("HTTP 200"), ==, 200);
        g_assert_cmpuint(failure_http_status("HTTP x"), ==, 0);
        g_assert_cmpuint(failure_http_status(NULL), ==, 0);

        g_assert_true(failure_is_unavailable("org.freedesktop.DBus.Error.ServiceUnknown"));
        g_assert_true(failure_is_unavailable("org.freedesktop.DBus.Error.NoReply"));
        g_assert_false(failure_is_unavailable("org.xferd.Transfer1.Error.InvalidPath"));
        g_assert_false(failure_is_unavailable(NULL));
}

const TestCase test_cases[] = {
        { "/apt-method/message/parse", test_message_parse },
        { "/apt-method/message/reader", test_message_reader },
        { "/apt-method/message/out", test_message_out },
        { "/apt-method/settings/defaults", test_settings_defaults },
        { "/apt-method/settings/values", test_settings_values },
        { "/apt-method/settings/bad-values", test_settings_bad_values },
        { "/apt-method/hashes", test_hashes },
        { "/apt-method/failures", test_failures },
        { NULL, NULL }
};
