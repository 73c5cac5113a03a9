/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verdict on a downloaded file (daemon/verify.c). */
#include <glib.h>
#include <string.h>

#include "test-cases.h"
#include "util.h"
#include "verify.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hasher, hasher_free)

#define URL "http://127.0.0.1:1/file.iso"

/* A hasher that has seen "abc" with both algorithms. */
static Hasher *
hasher_of_abc (void)
{
        Hasher *h = NULL;

        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512), &h),
                         ==, 0);
        g_assert_cmpint (hasher_update (h, "abc", 3), ==, 0);
        return h;
}

static Digest
digest_of (DigestAlgorithm a, const char *s)
{
        GChecksumType type = a == DIGEST_SHA256 ? G_CHECKSUM_SHA256 : G_CHECKSUM_SHA512;
        g_autofree char *hex = g_compute_checksum_for_string (type, s, -1);
        Digest d;

        g_assert_cmpint (digest_from_hex (a, hex, strlen (hex), &d), ==, 0);
        return d;
}

static void
test_names (void)
{
        for (unsigned i = 0; i < 6; i++) {
                const char *name = verify_source_to_string ((VerifySource) (1u << i));
                g_assert_nonnull (name);
                g_assert_cmpuint (verify_source_from_string (name), ==, 1u << i);
        }
        g_assert_null (verify_source_to_string (VERIFY_BY_CHECKSUM | VERIFY_BY_SIZE));
        g_assert_cmpuint (verify_source_from_string ("nonsense"), ==, 0);
        g_assert_cmpuint (verify_source_of_field (SERVER_DIGEST_REPR), ==, VERIFY_BY_REPR_DIGEST);
        g_assert_cmpuint (verify_source_of_field (SERVER_DIGEST_CONTENT), ==, VERIFY_BY_CONTENT_DIGEST);
        g_assert_cmpuint (verify_source_of_field (SERVER_DIGEST_LEGACY), ==, VERIFY_BY_DIGEST);
}

static void
test_nothing_expected (void)
{
        g_autoptr (Hasher) h = hasher_of_abc ();
        VerifyExpect e = { .expected_size = UINT64_MAX };
        VerifyVerdict v;

        g_assert_cmpuint (verify_algorithms_needed (&e), ==, 0);
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, 0);
        g_assert_false (v.has_digest);

        /* Nothing to hash: no hasher is needed (a resume that expects nothing has none). */
        g_assert_cmpint (verify_judge (&e, URL, 3, NULL, &v), ==, 0);
        g_assert_true (v.ok);
        e.expected_size = 3;
        g_assert_cmpint (verify_judge (&e, URL, 3, NULL, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, VERIFY_BY_SIZE);
}

static void
test_checksum (void)
{
        g_autoptr (Hasher) h = hasher_of_abc ();
        Digest right = digest_of (DIGEST_SHA512, "abc"), wrong = digest_of (DIGEST_SHA512, "abd");
        VerifyExpect e = { .expected = &right, .expected_source = VERIFY_BY_CHECKSUM, .expected_size = 3 };
        VerifyVerdict v;
        char buf[DIGEST_STRING_MAX];

        g_assert_cmpuint (verify_algorithms_needed (&e), ==, DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, VERIFY_BY_CHECKSUM | VERIFY_BY_SIZE);
        g_assert_true (v.has_digest);
        g_assert_true (digest_equal (&v.digest, &right));

        /* The message names the URL, the expected and the computed digest. */
        e.expected = &wrong;
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_false (v.ok);
        g_test_message ("%s", v.message);
        g_assert_nonnull (strstr (v.message, URL));
        g_assert_nonnull (strstr (v.message, digest_to_string (&wrong, buf)));
        g_assert_nonnull (strstr (v.message, digest_to_string (&right, buf)));
        g_assert_nonnull (strstr (v.message, "its checksum"));
        g_assert_null (strstr (v.summary, "http"));
        /* A URL's user, password and query are not in it. */
        g_assert_cmpint (verify_judge (&e, "http://u:S3cr3t@127.0.0.1:1/file.iso?t=T0k3n", 3, h, &v), ==, 0);
        g_assert_false (v.ok);
        g_assert_nonnull (strstr (v.message, URL));
        g_assert_null (strstr (v.message, "S3cr3t"));
        g_assert_null (strstr (v.message, "T0k3n"));

        e.expected_source = VERIFY_BY_CHECKSUM_LIST;
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_false (v.ok);
        g_assert_nonnull (strstr (v.message, "signed checksum list"));
        e.expected = &right;
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, VERIFY_BY_CHECKSUM_LIST | VERIFY_BY_SIZE);
}

static void
test_size (void)
{
        g_autoptr (Hasher) h = hasher_of_abc ();
        Digest right = digest_of (DIGEST_SHA256, "abc");
        VerifyExpect e = { .expected = &right, .expected_source = VERIFY_BY_CHECKSUM, .expected_size = 4 };
        VerifyVerdict v;

        /* The size is judged first: its message is the clearer one. */
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_false (v.ok);
        g_test_message ("%s", v.message);
        g_assert_nonnull (strstr (v.message, "has 3 bytes, but 4 were expected"));
}

static void
test_server (void)
{
        g_autoptr (Hasher) h = hasher_of_abc ();
        Digest right256 = digest_of (DIGEST_SHA256, "abc"), right512 = digest_of (DIGEST_SHA512, "abc");
        ServerDigest s = { .digest = right512, .field = SERVER_DIGEST_REPR };
        VerifyExpect e = { .expected = &right256, .expected_source = VERIFY_BY_CHECKSUM,
                           .expected_size = UINT64_MAX, .server = &s };
        VerifyVerdict v;

        /* Both algorithms are needed; both check out; the client's digest is the one shown. */
        g_assert_cmpuint (verify_algorithms_needed (&e), ==,
                          DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, VERIFY_BY_CHECKSUM | VERIFY_BY_REPR_DIGEST);
        g_assert_cmpint (v.digest.algorithm, ==, DIGEST_SHA256);

        /* The server's alone. */
        e.expected = NULL;
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, VERIFY_BY_REPR_DIGEST);
        g_assert_true (digest_equal (&v.digest, &right512));

        /* A wrong one names its field. */
        s.digest = digest_of (DIGEST_SHA512, "xyz");
        s.field = SERVER_DIGEST_LEGACY;
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_false (v.ok);
        g_test_message ("%s", v.message);
        g_assert_nonnull (strstr (v.message, "the Digest the server sent"));

        /* A partial Content-Digest (of a 206) is the transfer's to check, not the file's. */
        s.partial = TRUE;
        s.field = SERVER_DIGEST_CONTENT;
        g_assert_cmpuint (verify_algorithms_needed (&e), ==, 0);
        g_assert_cmpint (verify_judge (&e, URL, 3, h, &v), ==, 0);
        g_assert_true (v.ok);
        g_assert_cmpuint (v.by, ==, 0);

        /* A hasher without the algorithm is the caller's mistake, said as such. */
        g_autoptr (Hasher) only256 = NULL;
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &only256), ==, 0);
        s.partial = FALSE;
        g_assert_cmpint (verify_judge (&e, URL, 0, only256, &v), ==, -ENOENT);
}

const TestCase test_cases[] = {
        { "/verify/names", test_names },
        { "/verify/nothing-expected", test_nothing_expected },
        { "/verify/checksum", test_checksum },
        { "/verify/size", test_size },
        { "/verify/server", test_server },
        { NULL, NULL }
};
