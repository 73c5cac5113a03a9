/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Digests and the Hasher (daemon/digest.c); tests/test-hash-stream.c hashes off the loop.
 * GLib's own SHA-256/SHA-512 is the independent oracle. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "digest.h"
#include "test-cases.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hasher, hasher_free)

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMPTY_SHA512 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
                     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char *
oracle (GChecksumType type, const void *p, size_t n)
{
        return g_compute_checksum_for_data (type, p, n);
}

static void
assert_digest_hex (const Digest *d, const char *algorithm, const char *hex)
{
        char buf[DIGEST_STRING_MAX];
        g_autofree char *want = g_strdup_printf ("%s:%s", algorithm, hex);

        g_assert_cmpstr (digest_to_string (d, buf), ==, want);
}

static void
test_algorithms (void)
{
        g_assert_cmpstr (digest_algorithm_to_string (DIGEST_SHA256), ==, "sha256");
        g_assert_cmpstr (digest_algorithm_to_string (DIGEST_SHA512), ==, "sha512");
        g_assert_cmpint (digest_algorithm_from_string ("SHA256", 6), ==, DIGEST_SHA256);
        g_assert_cmpint (digest_algorithm_from_string ("Sha512", 6), ==, DIGEST_SHA512);
        g_assert_cmpint (digest_algorithm_from_string ("sha25", 5), ==, _DIGEST_ALGORITHM_INVALID);
        g_assert_cmpint (digest_algorithm_from_string ("md5", 3), ==, _DIGEST_ALGORITHM_INVALID);
        g_assert_cmpuint (digest_algorithm_size (DIGEST_SHA256), ==, 32);
        g_assert_cmpuint (digest_algorithm_size (DIGEST_SHA512), ==, 64);
        g_assert_cmpint (digest_algorithm_from_hex_length (64), ==, DIGEST_SHA256);
        g_assert_cmpint (digest_algorithm_from_hex_length (128), ==, DIGEST_SHA512);
        g_assert_cmpint (digest_algorithm_from_hex_length (40), ==, _DIGEST_ALGORITHM_INVALID);
}

static void
test_parse (void)
{
        char err[256] = "";
        Digest d, e;

        g_assert_cmpint (digest_from_string ("sha256:" ABC_SHA256, &d, err, sizeof err), ==, 0);
        assert_digest_hex (&d, "sha256", ABC_SHA256);

        /* Upper-case hex and algorithm: the same digest, written back in lower case. */
        g_autofree char *upper = g_ascii_strup ("sha256:" ABC_SHA256, -1);
        g_assert_cmpint (digest_from_string (upper, &e, err, sizeof err), ==, 0);
        g_assert_true (digest_equal (&d, &e));
        assert_digest_hex (&e, "sha256", ABC_SHA256);

        g_assert_cmpint (digest_from_string ("sha512:" EMPTY_SHA512, &d, NULL, 0), ==, 0);
        g_assert_cmpint (d.algorithm, ==, DIGEST_SHA512);
        assert_digest_hex (&d, "sha512", EMPTY_SHA512);

        /* Same bytes, other algorithm: not equal. */
        Digest a = { .algorithm = DIGEST_SHA256 }, b = { .algorithm = DIGEST_SHA512 };
        g_assert_false (digest_equal (&a, &b));
}

static void
assert_rejected (const char *value, const char *says)
{
        char err[256] = "";
        Digest d;

        g_assert_cmpint (digest_from_string (value, &d, err, sizeof err), ==, -EINVAL);
        g_test_message ("%s → %s", value, err);
        g_assert_nonnull (strstr (err, says));
}

static void
test_parse_errors (void)
{
        const char *accepted = "sha256:<64 hex digits> or sha512:<128 hex digits>";

        assert_rejected (ABC_SHA256, "names no algorithm");
        assert_rejected (ABC_SHA256, accepted);
        assert_rejected ("", "names no algorithm");
        assert_rejected ("md5:d41d8cd98f00b204e9800998ecf8427e", "is not supported");
        assert_rejected ("sha-256:" ABC_SHA256, "is not supported");
        assert_rejected ("sha256:" ABC_SHA256 "0", "A sha256 checksum has 64 hex digits");
        assert_rejected ("sha256:abc", "has 3");
        assert_rejected ("sha256:", "has 0");
        assert_rejected ("sha512:" ABC_SHA256, "A sha512 checksum has 128 hex digits");
        assert_rejected ("sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                        "not a hex digit at position 1");
        assert_rejected ("sha256: " ABC_SHA256, "not a hex digit");
        /* Long junk is shown shortened, never in full. */
        g_autofree char *junk = g_strnfill (5000, 'x');
        g_autofree char *long_value = g_strconcat ("sha256:", junk, NULL);
        char err[256];
        Digest d;
        g_assert_cmpint (digest_from_string (long_value, &d, err, sizeof err), ==, -EINVAL);
        g_assert_cmpuint (strlen (err), <, 200);
}

static void
test_from_hex_and_bytes (void)
{
        Digest d;
        uint8_t raw[32] = { 0xba, 0x78 };

        g_assert_cmpint (digest_from_hex (DIGEST_SHA256, ABC_SHA256, 64, &d), ==, 0);
        g_assert_cmpint (digest_from_hex (DIGEST_SHA256, ABC_SHA256, 63, &d), ==, -EINVAL);
        g_assert_cmpint (digest_from_hex (DIGEST_SHA512, ABC_SHA256, 64, &d), ==, -EINVAL);
        g_assert_cmpint (digest_from_bytes (DIGEST_SHA256, raw, 32, &d), ==, 0);
        g_assert_cmpint (d.bytes[1], ==, 0x78);
        g_assert_cmpint (digest_from_bytes (DIGEST_SHA256, raw, 31, &d), ==, -EINVAL);
}

static void
test_empty (void)
{
        Digest d;

        g_assert_cmpint (digest_of_empty (DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", EMPTY_SHA256);
        g_assert_cmpint (digest_of_empty (DIGEST_SHA512, &d), ==, 0);
        assert_digest_hex (&d, "sha512", EMPTY_SHA512);
}

static void
test_hasher (void)
{
        g_autoptr (Hasher) h = NULL;
        g_autoptr (GBytes) data = NULL;
        const uint8_t *p;
        size_t n;
        Digest d;

        /* Data that is no multiple of any block size, fed in uneven pieces. */
        n = 1000003;
        uint8_t *buf = g_malloc (n);
        for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t) (i * 7 + (i >> 9));
        data = g_bytes_new_take (buf, n);
        p = g_bytes_get_data (data, NULL);
        g_autofree char *want256 = oracle (G_CHECKSUM_SHA256, p, n);
        g_autofree char *want512 = oracle (G_CHECKSUM_SHA512, p, n);

        const unsigned both = DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512);
        g_assert_cmpint (hasher_new (both, &h), ==, 0);
        g_assert_cmpuint (hasher_get_algorithms (h), ==, 3);
        for (size_t off = 0, piece = 1; off < n; off += piece, piece = piece * 3 + 1) {
                size_t k = MIN (piece, n - off);
                g_assert_cmpint (hasher_update (h, p + off, k), ==, 0);
                /* Reading a digest midway does not end the stream. */
                if (off < 100)
                        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        }
        g_assert_cmpuint (hasher_get_size (h), ==, n);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", want256);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA512, &d), ==, 0);
        assert_digest_hex (&d, "sha512", want512);
        /* Twice gives the same. */
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA512, &d), ==, 0);
        assert_digest_hex (&d, "sha512", want512);

        /* A digest must cover the whole stream: no algorithm joins late. */
        hasher_free (h);
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA512), &h), ==, 0);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, -ENOENT);
        g_assert_cmpint (hasher_add_algorithm (h, DIGEST_SHA256), ==, 0);
        g_assert_cmpint (hasher_update (h, "abc", 3), ==, 0);
        g_assert_cmpint (hasher_add_algorithm (h, DIGEST_SHA256), ==, 0);  /* already there */
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", ABC_SHA256);

        hasher_free (h);
        g_assert_cmpint (hasher_new (0, &h), ==, 0);
        g_assert_cmpint (hasher_update (h, "abc", 3), ==, 0);
        g_assert_cmpint (hasher_add_algorithm (h, DIGEST_SHA256), ==, -EBUSY);

        /* After a reset (the file was truncated) the stream starts over. */
        hasher_free (h);
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &h), ==, 0);
        g_assert_cmpint (hasher_update (h, "garbage", 7), ==, 0);
        g_assert_cmpint (hasher_reset (h), ==, 0);
        g_assert_cmpuint (hasher_get_size (h), ==, 0);
        g_assert_cmpint (hasher_update (h, "abc", 3), ==, 0);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", ABC_SHA256);
}

/* A temporary file of n pattern bytes; returns an fd open for reading, the name in *ret_path. */
static int
pattern_file (size_t n, GBytes **ret_data, char **ret_path)
{
        g_autoptr (GError) error = NULL;
        uint8_t *buf = g_malloc (n ? n : 1);
        int fd;

        for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t) (i ^ (i >> 8) ^ (i >> 16));
        fd = g_file_open_tmp ("xferd-test-digest-XXXXXX", ret_path, &error);
        g_assert_no_error (error);
        /* Through fd: g_file_set_contents() would replace the file fd names. */
        for (size_t done = 0; done < n;) {
                ssize_t k = write (fd, buf + done, n - done);
                g_assert_cmpint (k, >, 0);
                done += (size_t) k;
        }
        *ret_data = g_bytes_new_take(buf, n);
        return fd;
}

static void
test_update_from_fd (void)
{
        g_autoptr (Hasher) h = NULL;
        g_autoptr (GBytes) data = NULL;
        g_autofree char *path = NULL;
        size_t n = 3 * 1024 * 1024 + 17, calls = 0;
        int fd, r;
        Digest d;

        fd = pattern_file (n, &data, &path);
        const uint8_t *p = g_bytes_get_data (data, NULL);

        /* Bytes already hashed from memory (as the write path does) are skipped in the file. */
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &h), ==, 0);
        g_assert_cmpint (hasher_update (h, p, 1000), ==, 0);
        while ((r = hasher_update_from_fd (h, fd, n, 300000)) == 0) {
                calls++;
                /* Each slice takes no more than asked. */
                g_assert_cmpuint (hasher_get_size (h), <=, 1000 + calls * 300000);
        }
        g_assert_cmpint (r, ==, 1);
        g_assert_cmpuint (calls, ==, (n - 1000) / 300000);
        g_autofree char *want = oracle (G_CHECKSUM_SHA256, p, n);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", want);
        /* At the end already: nothing to do. */
        g_assert_cmpint (hasher_update_from_fd (h, fd, n, 300000), ==, 1);

        /* A prefix only. */
        g_assert_cmpint (hasher_reset (h), ==, 0);
        g_assert_cmpint (hasher_update_from_fd (h, fd, 4096, SIZE_MAX), ==, 1);
        g_autofree char *want_prefix = oracle (G_CHECKSUM_SHA256, p, 4096);
        g_assert_cmpint (hasher_get_digest (h, DIGEST_SHA256, &d), ==, 0);
        assert_digest_hex (&d, "sha256", want_prefix);

        /* The file is shorter than the caller thinks. */
        g_assert_cmpint (hasher_reset (h), ==, 0);
        while ((r = hasher_update_from_fd (h, fd, n + 1, 1024 * 1024)) == 0)
                ;
        g_assert_cmpint (r, ==, -ENODATA);
        g_assert_cmpuint (hasher_get_size (h), ==, n);

        g_assert_cmpint (hasher_update_from_fd (h, 12345, n + 5, 100), ==, -EBADF);
        close (fd);
        g_unlink (path);
}

const TestCase test_cases[] = {
        { "/digest/algorithms", test_algorithms },
        { "/digest/parse", test_parse },
        { "/digest/parse-errors", test_parse_errors },
        { "/digest/from-hex-and-bytes", test_from_hex_and_bytes },
        { "/digest/empty", test_empty },
        { "/digest/hasher", test_hasher },
        { "/digest/update-from-fd", test_update_from_fd },
        { NULL, NULL }
};
