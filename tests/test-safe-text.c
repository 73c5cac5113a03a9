/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shared/safe-text.c and shared/url-strip.c: what every string that leaves the daemon goes
 * through (D-Bus replies, properties, signals, log lines).
 */
#include <glib.h>
#include <string.h>

#include "safe-text.h"
#include "test-cases.h"
#include "url-strip.h"

#define FFFD SAFE_TEXT_REPLACEMENT

static char *
copy (const char *s, gsize size)
{
        char *buf = g_malloc (size);

        g_assert_true (safe_text_copy (buf, size, s) == buf);
        g_assert_true (g_utf8_validate (buf, -1, NULL));
        g_assert_cmpuint (strlen (buf), <, size);
        return buf;
}

static void
test_clean_text_unchanged (void)
{
        const char *const texts[] = { "", "plain", "é ü €", "日本語", "\xf0\x9f\x98\x80 emoji", NULL };

        for (guint i = 0; texts[i]; i++) {
                g_autofree char *c = copy (texts[i], 256);
                g_assert_cmpstr (c, ==, texts[i]);
                g_assert_true (safe_text_is_clean (texts[i]));
        }
}

static void
test_invalid_bytes_replaced (void)
{
        g_autofree char *a = copy ("Bad \xff reason", 64);
        g_assert_cmpstr (a, ==, "Bad " FFFD " reason");
        g_assert_false (safe_text_is_clean ("Bad \xff reason"));

        /* Overlong "/", a surrogate, past U+10FFFF, a lone continuation byte. */
        g_autofree char *b = copy ("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80", 128);
        g_assert_cmpstr (b, ==, FFFD FFFD "|" FFFD FFFD FFFD "|" FFFD FFFD FFFD FFFD "|" FFFD);

        /* A lead byte followed by something that is not a continuation. */
        g_autofree char *c = copy ("\xc3(x", 64);
        g_assert_cmpstr (c, ==, FFFD "(x");
}

static void
test_controls_replaced (void)
{
        g_autofree char *a = copy ("red\033[31m bell\a nl\n tab\t del\x7f c1\xc2\x9b end", 128);
        g_assert_null (strchr (a, '\033'));
        g_assert_null (strchr (a, '\n'));
        g_assert_null (strchr (a, '\a'));
        g_assert_null (strchr (a, '\t'));
        g_assert_null (strchr (a, 0x7f));
        g_assert_null (strstr (a, "\xc2\x9b"));
        g_assert_cmpstr (a, ==, "red" FFFD "[31m bell" FFFD " nl" FFFD " tab" FFFD " del" FFFD " c1" FFFD " end");
        g_assert_true (safe_text_is_clean (a));
        g_assert_false (safe_text_is_clean ("a\nb"));
}

/* The noncharacters sd-bus refuses in any string (the whole message fails): replaced; their
 * neighbours, and U+FFFD itself, stay. */
static void
test_noncharacters_replaced (void)
{
        /* U+FDD0, U+FDEF, U+FFFE, U+FFFF, U+1FFFE, U+10FFFF. */
        const char *const refused[] = { "\xef\xb7\x90", "\xef\xb7\xaf", "\xef\xbf\xbe", "\xef\xbf\xbf",
                                        "\xf0\x9f\xbf\xbe", "\xf4\x8f\xbf\xbf", NULL };
        /* U+FDCF, U+FDF0, U+FFFD, U+1FFFD. */
        const char *const kept[] = { "\xef\xb7\x8f", "\xef\xb7\xb0", FFFD, "\xf0\x9f\xbf\xbd", NULL };

        for (guint i = 0; refused[i]; i++) {
                g_autofree char *in = g_strconcat ("a", refused[i], "b", NULL);
                g_autofree char *c = copy (in, 64);
                g_assert_cmpstr (c, ==, "a" FFFD "b");
                g_assert_false (safe_text_is_clean (in));
        }
        for (guint i = 0; kept[i]; i++) {
                g_autofree char *in = g_strconcat ("a", kept[i], "b", NULL);
                g_autofree char *c = copy (in, 64);
                g_assert_cmpstr (c, ==, in);
                g_assert_true (safe_text_is_clean (in));
        }
}

/* Cut to the buffer on a character boundary, never inside one. */
static void
test_truncation_on_boundaries (void)
{
        /* "é" is 2 bytes: a 6-byte buffer holds 2 of them (4 bytes), not 2.5. */
        g_autofree char *a = copy ("ééé", 6);
        g_assert_cmpstr (a, ==, "éé");

        /* U+FFFD is 3 bytes: it is left out whole when it does not fit. */
        g_autofree char *b = copy ("ab\xff", 5);
        g_assert_cmpstr (b, ==, "ab");

        for (gsize size = 1; size < 40; size++) {
                g_autofree char *c = copy ("€uro \xf0\x9f\x98\x80 \xff and more text", size);
                g_assert_true (safe_text_is_clean (c));
        }

        /* snprintf() cut "é" in half: the half is dropped, not replaced. */
        char cut[] = "abc\xc3";
        g_autofree char *d = copy (cut, 64);
        g_assert_cmpstr (d, ==, "abc");
        char cut3[] = "x\xe2\x82";
        utf8_trim_partial (cut3);
        g_assert_cmpstr (cut3, ==, "x");
        char whole[] = "x\xe2\x82\xac";
        utf8_trim_partial (whole);
        g_assert_cmpstr (whole, ==, "x€");
        char invalid[] = "x\xff";
        utf8_trim_partial (invalid);
        g_assert_cmpstr (invalid, ==, "x\xff");

        g_autofree char *e = safe_text_dup ("日本語", 7);
        g_assert_cmpstr (e, ==, "日本");
        g_autofree char *f = safe_text_dup ("\xff\xff", SIZE_MAX);
        g_assert_cmpstr (f, ==, FFFD FFFD);
}

static void
test_url_strip (void)
{
        char buf[256];

        g_assert_cmpstr (url_strip (buf, sizeof buf, "http://alice:S3cr3t@127.0.0.1:8080/401?token=abc#frag"),
                         ==, "http://127.0.0.1:8080/401");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://host/path"), ==, "https://host/path");
        /* A password with '@' in it: the host follows the last one. */
        g_assert_cmpstr (url_strip (buf, sizeof buf, "http://a:b@c@host/x"), ==, "http://host/x");
        /* Passwords typed with an unencoded '/', '?' or '#' (review R10). */
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://bob:pa/ss@127.0.0.1:9/x"), ==, "https://127.0.0.1:9/x");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://bob:p#ss@127.0.0.1:9/x"), ==, "https://127.0.0.1:9/x");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://bob:pa?ss@127.0.0.1:9/x"), ==, "https://127.0.0.1:9/x");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://bob:/pass@host/x"), ==, "https://host/x");
        /* A port, an IPv6 literal, a path's '@' after a plain host: left as they are. */
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://host:8080/@scope/pkg"), ==, "https://host:8080/@scope/pkg");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://[::1]:8080/a@b"), ==, "https://[::1]:8080/a@b");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "https://registry.example/@scope/pkg"), ==,
                         "https://registry.example/@scope/pkg");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "http://host?x=1"), ==, "http://host");
        g_assert_cmpstr (url_strip (buf, sizeof buf, "http://host#t"), ==, "http://host");
        g_assert_cmpstr (url_strip (buf, 12, "http://host/long/path"), ==, "http://host");

        /* URL_SHOWN(): the same in a buffer of the caller's block, two in one call, and the
         * longest accepted URL (2048 bytes and its user info) shown whole. */
        g_autofree char *path = g_strnfill (2000, 'p');
        g_autofree char *url = g_strconcat ("https://u:pw@h/", path, "?t=1", NULL);
        g_autofree char *both = g_strdup_printf ("%s %s", URL_SHOWN ("http://a:b@c/x#f"), URL_SHOWN (url));
        g_autofree char *want = g_strconcat ("http://c/x https://h/", path, NULL);
        g_assert_cmpstr (both, ==, want);
}

/* A message and what is left of it: every URL inside without user info, query and fragment. */
static const struct {
        const char *message;
        const char *stripped;
} messages_with_urls[] = {
        { "HTTP 401 Unauthorized for http://alice:S3cr3t@127.0.0.1:1/401?token=T0k3n",
          "HTTP 401 Unauthorized for http://127.0.0.1:1/401" },
        { "Too many redirects (from https://u:p@a/x?t=1 to http://b/y?u=2).",
          "Too many redirects (from https://a/x to http://b/y)." },
        { "'ftp://bob:pw@host/f?k=v' is not a valid URL", "'ftp://host/f' is not a valid URL" },
        { "no URL here: /home/user/file?.txt", "no URL here: /home/user/file?.txt" },
        { "x://y@z", "x://z" },
        { "'https://bob:pa/ss@127.0.0.1:9/x' is not a valid URL", "'https://127.0.0.1:9/x' is not a valid URL" },
        { "ends with ://", "ends with ://" },
};

static void
test_text_strip_urls (void)
{
        for (gsize i = 0; i < G_N_ELEMENTS (messages_with_urls); i++) {
                g_autofree char *stripped = text_strip_urls (messages_with_urls[i].message);

                g_assert_cmpstr (stripped, ==, messages_with_urls[i].stripped);
        }
}

static void
test_safe_message (void)
{
        char buf[64];

        safe_message_copy (buf, sizeof buf, "HTTP 500 \xff for http://u:p@h/x?t=1");
        g_assert_cmpstr (buf, ==, "HTTP 500 " FFFD " for http://h/x");
        g_autofree char *d = safe_message_dup ("\033[2J http://u:p@h/?t", 10);
        g_assert_cmpstr (d, ==, FFFD "[2J htt");
}

const TestCase test_cases[] = {
        { "/safe-text/clean-unchanged", test_clean_text_unchanged },
        { "/safe-text/invalid-bytes", test_invalid_bytes_replaced },
        { "/safe-text/controls", test_controls_replaced },
        { "/safe-text/noncharacters", test_noncharacters_replaced },
        { "/safe-text/truncation", test_truncation_on_boundaries },
        { "/url-strip/url", test_url_strip },
        { "/url-strip/text", test_text_strip_urls },
        { "/safe-text/message", test_safe_message },
        { NULL, NULL }
};
