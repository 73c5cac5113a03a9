/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Digests of downloaded files: the algorithms xferd accepts, the "sha256:<hex>" form clients
 * write them in, and a Hasher that computes one or more of them while the bytes are written
 * (OpenSSL's EVP: no hash code of our own). Nothing here knows jobs, the bus or the loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum DigestAlgorithm {
        DIGEST_SHA256,
        DIGEST_SHA512,
        _DIGEST_ALGORITHM_MAX,
        _DIGEST_ALGORITHM_INVALID = -1,
} DigestAlgorithm;

#define DIGEST_ALGORITHM_BIT(a) (1u << (unsigned) (a))
#define DIGEST_SIZE_MAX 64
/* "sha512:" + 128 hex digits + NUL */
#define DIGEST_STRING_MAX (7 + 2 * DIGEST_SIZE_MAX + 1)

typedef struct Digest {
        DigestAlgorithm algorithm;
        uint8_t bytes[DIGEST_SIZE_MAX];   /* the first digest_algorithm_size() are used */
} Digest;

/* "sha256", "sha512" (the names of the checksum option and of the store). */
const char *digest_algorithm_to_string(DigestAlgorithm a);
/* Case-insensitive; _DIGEST_ALGORITHM_INVALID for anything else. */
DigestAlgorithm digest_algorithm_from_string(const char *s, size_t n);
size_t digest_algorithm_size(DigestAlgorithm a);
/* The algorithm whose digest has `hex_len` hex digits, or _DIGEST_ALGORITHM_INVALID. */
DigestAlgorithm digest_algorithm_from_hex_length(size_t hex_len);

/* Parses "sha256:<64 hex digits>" or "sha512:<128 hex digits>", hex in either case. On failure
 * returns -EINVAL and, when error is not NULL, puts a sentence into it that says what is
 * accepted (for InvalidArgs). */
int digest_from_string(const char *s, Digest *ret, char *error, size_t error_size);
/* Exactly n hex digits (either case) for algorithm a; -EINVAL otherwise. */
int digest_from_hex(DigestAlgorithm a, const char *hex, size_t n, Digest *ret);
/* Exactly the algorithm's size of raw bytes; -EINVAL otherwise. */
int digest_from_bytes(DigestAlgorithm a, const void *p, size_t n, Digest *ret);
/* "sha256:<lower-case hex>"; returns buf. */
char *digest_to_string(const Digest *d, char buf[static DIGEST_STRING_MAX]);
bool digest_equal(const Digest *a, const Digest *b);
/* The digest of zero bytes: a file of size 0 can only have this one. */
int digest_of_empty(DigestAlgorithm a, Digest *ret);

/* Computes the digests of a stream of bytes with every algorithm of a set. */
typedef struct Hasher Hasher;

/* algorithms: a mask of DIGEST_ALGORITHM_BIT(); may be 0 and grow with hasher_add_algorithm(). */
int hasher_new(unsigned algorithms, Hasher **ret);
Hasher *hasher_free(Hasher *h);
static inline void hasher_freep(Hasher **h) {
        hasher_free(*h);
}
unsigned hasher_get_algorithms(const Hasher *h);
/* Only before the first byte (-EBUSY after): a digest must cover the whole stream. */
int hasher_add_algorithm(Hasher *h, DigestAlgorithm a);
int hasher_update(Hasher *h, const void *p, size_t n);
/* dst becomes a copy of src: the same algorithms, size and state. */
int hasher_copy(Hasher *dst, const Hasher *src);
/* Back to zero bytes, the same algorithms: the file was truncated. */
int hasher_reset(Hasher *h);
/* How many bytes went in. */
uint64_t hasher_get_size(const Hasher *h);
/* The digest of the bytes so far; the hasher may go on afterwards. -ENOENT when a is not one
 * of its algorithms. */
int hasher_get_digest(Hasher *h, DigestAlgorithm a, Digest *ret);

/* One slice of hashing a file that already holds the bytes: feeds bytes
 * [hasher_get_size(h), end) of fd (read with pread, so fd's offset is untouched), at most
 * max_bytes of them. Returns 1 once the hasher has reached end, 0 when bytes remain, -ENODATA
 * when the file ends before end, or the -errno of a failed read. */
int hasher_update_from_fd(Hasher *h, int fd, uint64_t end, size_t max_bytes);
