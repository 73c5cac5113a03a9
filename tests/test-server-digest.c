/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Server digests (daemon/server-digest.c): RFC 9530 dictionaries, RFC 3230's Digest, and which
 * one applies to a response. Expected values come from GLib's checksums and base64. */
#include <glib.h>
#include <string.h>

#include "server-digest.h"
#include "test-cases.h"
#include "util.h"

/* base64 of the SHA-256 / SHA-512 of s, with padding. */
static char *
b64_of (GChecksumType type, const char *s)
{
        g_autoptr (GChecksum) c = g_checksum_new (type);
        guint8 buf[64];
        gsize n = sizeof buf;

        g_checksum_update (c, (const guchar *) s, (gssize) strlen (s));
        g_checksum_get_digest (c, buf, &n);
        return g_base64_encode (buf, n);
}

static void
assert_digest_of (const Digest *d, GChecksumType type, const char *s)
{
        g_autofree char *hex = g_compute_checksum_for_string (type, s, -1);
        char buf[DIGEST_STRING_MAX];
        g_autofree char *want = g_strdup_printf ("%s:%s", type == G_CHECKSUM_SHA256 ? "sha256" : "sha512", hex);

        g_assert_cmpstr (digest_to_string (d, buf), ==, want);
}

static void
test_dictionary (void)
{
        g_autofree char *a256 = b64_of (G_CHECKSUM_SHA256, "a");
        g_autofree char *b256 = b64_of (G_CHECKSUM_SHA256, "b");
        g_autofree char *a512 = b64_of (G_CHECKSUM_SHA512, "a");
        Digest found[_DIGEST_ALGORITHM_MAX];
        const unsigned both = DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512);

        g_autofree char *v1 = g_strdup_printf ("sha-256=:%s:", a256);
        g_assert_cmpint (server_digest_parse_dictionary (v1, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        assert_digest_of (&found[DIGEST_SHA256], G_CHECKSUM_SHA256, "a");

        /* Both, with whitespace, parameters and deprecated algorithms around them. */
        g_autofree char *v2 = g_strdup_printf ("md5=:AAAAAAAAAAAAAAAAAAAAAA==:, sha-512=:%s:;x=1;y,\t "
                                               "sha-256=:%s:;q=\"s\\\"t\"",
                                              a512, a256);
        g_assert_cmpint (server_digest_parse_dictionary (v2, found), ==, (int) both);
        assert_digest_of (&found[DIGEST_SHA512], G_CHECKSUM_SHA512, "a");
        assert_digest_of (&found[DIGEST_SHA256], G_CHECKSUM_SHA256, "a");

        /* Members of every other type parse and are skipped. */
        g_autofree char *v3 = g_strdup_printf ("i=-12, d=3.14, s=\"x\", t=tok/en:1, b=?0, flag, "
                                               "l=(1 \"two\" :AA==:);p, "
                                              "sha-256=:%s:", a256);
        g_assert_cmpint (server_digest_parse_dictionary (v3, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));

        /* A later member of the same key wins, even when it is no digest. */
        g_autofree char *v4 = g_strdup_printf ("sha-256=:%s:, sha-256=:%s:", a256, b256);
        g_assert_cmpint (server_digest_parse_dictionary (v4, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        assert_digest_of (&found[DIGEST_SHA256], G_CHECKSUM_SHA256, "b");
        g_autofree char *v5 = g_strdup_printf ("sha-256=:%s:, sha-256=1", a256);
        g_assert_cmpint (server_digest_parse_dictionary (v5, found), ==, 0);

        /* Padding may be left out (RFC 8941 asks parsers to accept it). */
        g_autofree char *unpadded = g_strdup (a256);
        *strchr(unpadded, '=') = 0;
        g_autofree char *v6 = g_strdup_printf ("sha-256=:%s:", unpadded);
        g_assert_cmpint (server_digest_parse_dictionary (v6, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        assert_digest_of (&found[DIGEST_SHA256], G_CHECKSUM_SHA256, "a");

        /* A byte sequence of the wrong size is no digest of that algorithm. */
        g_autofree char *v7 = g_strdup_printf ("sha-512=:%s:", a256);
        g_assert_cmpint (server_digest_parse_dictionary (v7, found), ==, 0);
        g_assert_cmpint (server_digest_parse_dictionary ("sha-256=:AAAA:", found), ==, 0);

        /* Not a dictionary: the whole field is ignored. */
        const char *bad[] = {
                "",
                "   ",
                "SHA-256=:AAAA:",               /* keys are lower case */
                "sha-256=:AAAA:,",              /* trailing comma */
                "sha-256=:AAAA",                /* unterminated byte sequence */
                "sha-256=:AA AA:",
                "sha-256=:AAAA: sha-512=:AAAA:",/* no comma */
                "sha-256=\"unterminated",
                "sha-256=?2",
                "sha-256=(1 2",
                "sha-256=1.2345",
                "sha-256=1234567890123456",
                "9abc=1",
                "a=1;",
        };
        for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_test_message ("bad: '%s'", bad[i]);
                g_assert_cmpint (server_digest_parse_dictionary (bad[i], found), ==, -EBADMSG);
        }
}

static void
test_legacy (void)
{
        g_autofree char *a256 = b64_of (G_CHECKSUM_SHA256, "a");
        g_autofree char *a512 = b64_of (G_CHECKSUM_SHA512, "a");
        Digest found[_DIGEST_ALGORITHM_MAX];

        g_autofree char *v1 = g_strdup_printf ("SHA-256=%s", a256);
        g_assert_cmpint (server_digest_parse_legacy (v1, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        assert_digest_of (&found[DIGEST_SHA256], G_CHECKSUM_SHA256, "a");

        g_autofree char *v2 = g_strdup_printf ("MD5=HUXZLQLMuI/KZ5KDcJPcOA==, sha-512=%s ,UNIXsum=30637", a512);
        g_assert_cmpint (server_digest_parse_legacy (v2, found), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        assert_digest_of (&found[DIGEST_SHA512], G_CHECKSUM_SHA512, "a");

        /* The wrong size for its algorithm: ignored. */
        g_autofree char *v3 = g_strdup_printf ("SHA-512=%s", a256);
        g_assert_cmpint (server_digest_parse_legacy (v3, found), ==, 0);

        g_assert_cmpint (server_digest_parse_legacy ("", found), ==, -EBADMSG);
        g_assert_cmpint (server_digest_parse_legacy ("nonsense", found), ==, -EBADMSG);
        g_assert_cmpint (server_digest_parse_legacy ("=abc", found), ==, -EBADMSG);
}

static void
add (ServerDigests *s, const char *name, const char *value)
{
        g_autofree char *line = g_strdup_printf ("%s: %s\r\n", name, value);

        g_assert_cmpint (server_digests_add_header (s, line, strlen (line)), ==, 1);
}

static void
test_collect (void)
{
        g_autofree char *a256 = b64_of (G_CHECKSUM_SHA256, "a");
        g_autofree char *a512 = b64_of (G_CHECKSUM_SHA512, "a");
        ServerDigests s = { .content_encoding = NULL };
        ServerDigest d;
        const char *other = "Content-Length: 12\r\n";

        g_assert_cmpint (server_digests_add_header (&s, other, strlen (other)), ==, 0);

        /* Two field lines are one list. */
        g_autofree char *v1 = g_strdup_printf ("sha-256=:%s:", a256);
        g_autofree char *v2 = g_strdup_printf ("sha-512=:%s:", a512);
        add (&s, "repr-digest", v1);
        add (&s, "Repr-Digest", v2);
        g_autofree char *combined = g_strdup_printf ("%s, %s", v1, v2);
        g_assert_cmpstr (s.fields[SERVER_DIGEST_REPR], ==, combined);

        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_REPR);
        g_assert_cmpint (d.digest.algorithm, ==, DIGEST_SHA512);  /* the strongest */
        g_assert_false (d.partial);
        g_assert_cmpint (server_digests_choose (&s, 200, false, DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &d), ==, 1);
        g_assert_cmpint (d.digest.algorithm, ==, DIGEST_SHA256);  /* what is hashed anyway */
        assert_digest_of (&d.digest, G_CHECKSUM_SHA256, "a");

        server_digests_reset (&s);
        g_assert_null (s.fields[SERVER_DIGEST_REPR]);
        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 0);
        server_digests_reset (&s);
}

static void
test_choose (void)
{
        g_autofree char *a256 = b64_of (G_CHECKSUM_SHA256, "a");
        g_autofree char *b256 = b64_of (G_CHECKSUM_SHA256, "b");
        g_autofree char *c256 = b64_of (G_CHECKSUM_SHA256, "c");
        g_autofree char *repr = g_strdup_printf ("sha-256=:%s:", a256);
        g_autofree char *content = g_strdup_printf ("sha-256=:%s:", b256);
        g_autofree char *legacy = g_strdup_printf ("SHA-256=%s", c256);
        ServerDigests s = { .content_encoding = NULL };
        ServerDigest d;

        /* Content-Digest alone: the whole file on a 200, only the range on a 206. */
        add (&s, "Content-Digest", content);
        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_CONTENT);
        g_assert_false (d.partial);
        g_assert_cmpint (server_digests_choose (&s, 206, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_CONTENT);
        g_assert_true (d.partial);
        /* Nothing applies to other statuses. */
        g_assert_cmpint (server_digests_choose (&s, 404, false, 0, &d), ==, 0);
        g_assert_cmpint (server_digests_choose (&s, 304, false, 0, &d), ==, 0);

        /* A whole-file digest beats Content-Digest on a 206; Repr-Digest beats all. */
        add (&s, "Digest", legacy);
        g_assert_cmpint (server_digests_choose (&s, 206, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_LEGACY);
        g_assert_false (d.partial);
        assert_digest_of (&d.digest, G_CHECKSUM_SHA256, "c");
        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_CONTENT);
        add (&s, "Repr-Digest", repr);
        g_assert_cmpint (server_digests_choose (&s, 206, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_REPR);
        g_assert_false (d.partial);
        assert_digest_of (&d.digest, G_CHECKSUM_SHA256, "a");

        /* Every field digests the bytes with their content coding: stored as sent they apply,
         * decoded they do not; "identity" is no coding. */
        add (&s, "Content-Encoding", "gzip");
        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 1);
        g_assert_cmpint (server_digests_choose (&s, 200, true, 0, &d), ==, 0);
        server_digests_reset (&s);
        add (&s, "Repr-Digest", repr);
        add (&s, "Content-Encoding", "identity");
        g_assert_cmpint (server_digests_choose (&s, 200, true, 0, &d), ==, 1);

        /* A malformed field is ignored; the next one in line applies. */
        server_digests_reset (&s);
        add (&s, "Repr-Digest", "SHA-256=:AAAA:");
        add (&s, "Content-Digest", content);
        g_assert_cmpint (server_digests_choose (&s, 200, false, 0, &d), ==, 1);
        g_assert_cmpint (d.field, ==, SERVER_DIGEST_CONTENT);
        server_digests_reset (&s);

        g_assert_cmpstr (server_digest_field_to_string (SERVER_DIGEST_REPR), ==, "Repr-Digest");
        g_assert_cmpstr (server_digest_field_to_string (SERVER_DIGEST_CONTENT), ==, "Content-Digest");
        g_assert_cmpstr (server_digest_field_to_string (SERVER_DIGEST_LEGACY), ==, "Digest");
}

const TestCase test_cases[] = {
        { "/server-digest/dictionary", test_dictionary },
        { "/server-digest/legacy", test_legacy },
        { "/server-digest/collect", test_collect },
        { "/server-digest/choose", test_choose },
        { NULL, NULL }
};
