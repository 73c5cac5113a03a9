/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checksum lists (daemon/checksum-list.c): the SHA256SUMS format and systemd-sysupdate's rules. */
#include <glib.h>
#include <string.h>

#include "checksum-list.h"
#include "test-cases.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChecksumList, checksum_list_free)

#define H1 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H512 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
             "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

static void
assert_listed (const ChecksumList *l, const char *name, const char *want)
{
        const Digest *d = checksum_list_find (l, name);
        char buf[DIGEST_STRING_MAX];

        g_assert_nonnull (d);
        g_assert_cmpstr (digest_to_string (d, buf), ==, want);
}

static void
test_parse (void)
{
        g_autoptr (ChecksumList) l = NULL;
        char err[256] = "";
        /* Text and binary markers, upper-case hex, a SHA-512 line, a name with spaces and a
         * name listed twice with the same digest; the last line has no newline. */
        const char *text =
                H1 "  debian-12.iso\n"
                H2 " *image.raw.xz\n"
                "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  UPPER.txt\n"
                H512 "  big file.tar\n"
                H1 "  debian-12.iso";

        g_assert_cmpint (checksum_list_parse (text, strlen (text), &l, err, sizeof err), ==, 0);
        g_assert_cmpuint (checksum_list_count (l), ==, 4);
        assert_listed (l, "debian-12.iso", "sha256:" H1);
        assert_listed (l, "image.raw.xz", "sha256:" H2);
        assert_listed (l, "UPPER.txt", "sha256:" H1);
        assert_listed (l, "big file.tar", "sha512:" H512);
        g_assert_null (checksum_list_find (l, "missing.iso"));
        g_assert_null (checksum_list_find (l, "*image.raw.xz"));
        g_assert_null (checksum_list_find (l, "debian-12.ISO"));  /* names are exact */

        /* An empty list is a list (of nothing). */
        l = checksum_list_free (l);
        g_assert_cmpint (checksum_list_parse ("", 0, &l, err, sizeof err), ==, 0);
        g_assert_cmpuint (checksum_list_count (l), ==, 0);
        g_assert_null (checksum_list_find (l, "a"));
}

static void
assert_refused (const char *text, size_t size, const char *says)
{
        if (size == SIZE_MAX)
                size = strlen (text);
        g_autoptr (ChecksumList) l = NULL;
        char err[256] = "";

        g_assert_cmpint (checksum_list_parse (text, size, &l, err, sizeof err), ==, -EBADMSG);
        g_assert_null (l);
        g_test_message ("%s", err);
        g_assert_nonnull (strstr (err, says));
}

static void
test_refused (void)
{
        const char with_nul[] = H1 "  a\0b\n";

        /* One bad line refuses the whole list, and the message names it. */
        assert_refused (H1 "  a\n" H2 "  b\nnonsense\n", SIZE_MAX, "Line 3 ");
        assert_refused (H1 "  a\n\n" H2 "  b\n", SIZE_MAX, "Line 2 of the checksum list is empty");
        assert_refused ("abc  a\n", SIZE_MAX, "64 (SHA-256) or 128 (SHA-512) hex digits");
        assert_refused (H1 "0  a\n", SIZE_MAX, "hex digits");
        assert_refused ("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a\n", SIZE_MAX,
                       "not a hex digit");
        assert_refused (H1 " a\n", SIZE_MAX, "marker");
        assert_refused (H1 "\ta\n", SIZE_MAX, "no space");
        assert_refused (H1 "  \n", SIZE_MAX, "names no valid file");
        assert_refused (H1 "  dir/a\n", SIZE_MAX, "names no valid file");
        assert_refused (H1 "  ..\n", SIZE_MAX, "names no valid file");
        assert_refused (H1 "  .\n", SIZE_MAX, "names no valid file");
        assert_refused (H1 "  a.iso\r\n", SIZE_MAX, "names no valid file");  /* CR: a control character */
        assert_refused (with_nul, sizeof with_nul - 1, "NUL byte");
        /* BSD-style lines (sha256 --tag) are not the format. */
        assert_refused ("SHA256 (a) = " H1 "\n", SIZE_MAX, "Line 1 ");
        /* One name, two digests: which one would be the truth? */
        assert_refused (H1 "  a\n" H2 " *a\n", SIZE_MAX, "two different digests");

        g_autofree char *long_name = g_strnfill (256, 'n');
        g_autofree char *long_line = g_strdup_printf (H1 "  %s\n", long_name);
        assert_refused (long_line, SIZE_MAX, "longer than 255 bytes");
}

static void
assert_url_name (const char *url, const char *want)
{
        g_autofree char *name = NULL;

        g_assert_cmpint (checksum_list_url_name (url, &name), ==, 0);
        g_assert_cmpstr (name, ==, want);
}

static void
test_url_name (void)
{
        char *name = NULL;

        assert_url_name ("https://example.org/debian/12/debian-12.iso", "debian-12.iso");
        assert_url_name ("https://example.org/a/file.raw?token=1/2#frag", "file.raw");
        assert_url_name ("http://example.org/dir/", "dir");
        assert_url_name ("http://example.org//x.tar//", "x.tar");
        assert_url_name ("http://127.0.0.1:8080/file%20name.iso", "file%20name.iso");  /* as written */
        g_assert_cmpint (checksum_list_url_name ("https://example.org/", &name), ==, -EADDRNOTAVAIL);
        g_assert_cmpint (checksum_list_url_name ("https://example.org", &name), ==, -EADDRNOTAVAIL);
        g_assert_cmpint (checksum_list_url_name ("https://example.org?q=a/b", &name), ==, -EADDRNOTAVAIL);
        g_assert_cmpint (checksum_list_url_name ("https://example.org/..", &name), ==, -EINVAL);
        g_assert_null (name);
}

const TestCase test_cases[] = {
        { "/checksum-list/parse", test_parse },
        { "/checksum-list/refused", test_refused },
        { "/checksum-list/url-name", test_url_name },
        { NULL, NULL }
};
