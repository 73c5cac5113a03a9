/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <openssl/evp.h>
#include <strings.h>

#include "digest-set.h"
#include "digest.h"
#include "util.h"

static const struct {
        const char *name;
        size_t size;
} algorithms[_DIGEST_ALGORITHM_MAX] = {
        [DIGEST_SHA256] = { "sha256", 32 },
        [DIGEST_SHA512] = { "sha512", 64 },
};

static bool algorithm_valid(DigestAlgorithm a) {
        return a >= 0 && a < _DIGEST_ALGORITHM_MAX;
}

const char *digest_algorithm_to_string(DigestAlgorithm a) {
        return algorithm_valid(a) ? algorithms[a].name : NULL;
}

DigestAlgorithm digest_algorithm_from_string(const char *s, size_t n) {
        assert(s);

        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if (strlen(algorithms[a].name) == n && strncasecmp(s, algorithms[a].name, n) == 0)
                        return a;
        return _DIGEST_ALGORITHM_INVALID;
}

size_t digest_algorithm_size(DigestAlgorithm a) {
        assert(algorithm_valid(a));
        return algorithms[a].size;
}

DigestAlgorithm digest_algorithm_from_hex_length(size_t hex_len) {
        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if (algorithms[a].size * 2 == hex_len)
                        return a;
        return _DIGEST_ALGORITHM_INVALID;
}

static const EVP_MD *algorithm_md(DigestAlgorithm a) {
        return a == DIGEST_SHA256 ? EVP_sha256() : EVP_sha512();
}

static int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int digest_from_hex(DigestAlgorithm a, const char *hex, size_t n, Digest *ret) {
        Digest d = { .algorithm = a };

        assert(algorithm_valid(a));
        assert(hex);
        assert(ret);

        if (n != 2 * algorithms[a].size)
                return -EINVAL;
        for (size_t i = 0; i < algorithms[a].size; i++) {
                int hi = unhexchar(hex[2 * i]), lo = unhexchar(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                d.bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret = d;
        return 0;
}

int digest_from_bytes(DigestAlgorithm a, const void *p, size_t n, Digest *ret) {
        assert(algorithm_valid(a));
        assert(p || n == 0);
        assert(ret);

        if (n != algorithms[a].size)
                return -EINVAL;
        *ret = (Digest) { .algorithm = a };
        memcpy(ret->bytes, p, n);
        return 0;
}

/* A value shown back in an error message: short, and only printable ASCII. */
static void quote_value(const char *s, char *buf, size_t size) {
        size_t i = 0;

        for (; s[i] && i + 4 < size && i < 40; i++)
                buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
        if (s[i] && i + 4 < size)
                memcpy(buf + i, "...", 3), i += 3;
        buf[i] = 0;
}

int digest_from_string(const char *s, Digest *ret, char *error, size_t error_size) {
        const char *accepted = "expected sha256:<64 hex digits> or sha512:<128 hex digits>";
        const char *colon, *hex;
        char shown[48];
        DigestAlgorithm a;
        size_t n;

        assert(s);
        assert(ret);
        assert(error || error_size == 0);

        quote_value(s, shown, sizeof shown);
        colon = strchr(s, ':');
        if (!colon) {
                if (error)
                        snprintf(error, error_size, "The checksum '%s' names no algorithm: %s.", shown, accepted);
                return -EINVAL;
        }
        a = digest_algorithm_from_string(s, (size_t) (colon - s));
        if (a < 0) {
                if (error)
                        snprintf(error, error_size, "The checksum algorithm of '%s' is not supported: %s.",
                                 shown, accepted);
                return -EINVAL;
        }

        hex = colon + 1;
        n = strlen(hex);
        for (size_t i = 0; i < n; i++)
                if (unhexchar(hex[i]) < 0) {
                        if (error)
                                snprintf(error, error_size,
                                         "The checksum '%s' has a character that is not a hex digit at "
                                         "position %zu of its digest: %s.", shown, i + 1, accepted);
                        return -EINVAL;
                }
        if (n != 2 * algorithms[a].size) {
                if (error)
                        snprintf(error, error_size, "A %s checksum has %zu hex digits, '%s' has %zu.",
                                 algorithms[a].name, 2 * algorithms[a].size, shown, n);
                return -EINVAL;
        }
        return digest_from_hex(a, hex, n, ret);
}

char *digest_to_string(const Digest *d, char buf[static DIGEST_STRING_MAX]) {
        static const char hexdigits[] = "0123456789abcdef";
        size_t size, k;

        assert(d);
        assert(algorithm_valid(d->algorithm));

        size = algorithms[d->algorithm].size;
        k = (size_t) snprintf(buf, DIGEST_STRING_MAX, "%s:", algorithms[d->algorithm].name);
        for (size_t i = 0; i < size; i++) {
                buf[k++] = hexdigits[d->bytes[i] >> 4];
                buf[k++] = hexdigits[d->bytes[i] & 15];
        }
        buf[k] = 0;
        return buf;
}

bool digest_equal(const Digest *a, const Digest *b) {
        assert(a);
        assert(b);

        return a->algorithm == b->algorithm && algorithm_valid(a->algorithm) &&
               memcmp(a->bytes, b->bytes, algorithms[a->algorithm].size) == 0;
}

int digest_of_empty(DigestAlgorithm a, Digest *ret) {
        unsigned len = 0;

        assert(algorithm_valid(a));
        assert(ret);

        *ret = (Digest) { .algorithm = a };
        if (EVP_Digest("", 0, ret->bytes, &len, algorithm_md(a), NULL) != 1)
                return -EIO;
        return 0;
}

/* ---- Hasher -------------------------------------------------------------------------- */

/* Bytes read per pread() when hashing a file. */
#define READ_BUFFER_SIZE (128u * 1024u)

/* A slot of the set for each algorithm: DigestAlgorithm numbers them. */
static_assert(_DIGEST_ALGORITHM_MAX <= DIGEST_SET_SLOTS, "a digest set slot for each algorithm");

struct Hasher {
        DigestSet set;
        uint8_t *buf;                            /* for hasher_update_from_fd() */
};

int hasher_new(unsigned mask, Hasher **ret) {
        _cleanup_(hasher_freep) Hasher *h = NULL;
        int r;

        assert(ret);
        assert(mask < DIGEST_ALGORITHM_BIT(_DIGEST_ALGORITHM_MAX));

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if (mask & DIGEST_ALGORITHM_BIT(a)) {
                        r = digest_set_start(&h->set, a, algorithm_md(a));
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(h);
        return 0;
}

Hasher *hasher_free(Hasher *h) {
        if (!h)
                return NULL;
        digest_set_done(&h->set);
        free(h->buf);
        return mfree(h);
}

unsigned hasher_get_algorithms(const Hasher *h) {
        unsigned mask = 0;

        assert(h);
        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if (h->set.ctx[a])
                        mask |= DIGEST_ALGORITHM_BIT(a);
        return mask;
}

int hasher_add_algorithm(Hasher *h, DigestAlgorithm a) {
        assert(h);
        assert(algorithm_valid(a));

        if (h->set.ctx[a])
                return 0;
        if (h->set.size > 0)
                return -EBUSY;
        return digest_set_start(&h->set, a, algorithm_md(a));
}

int hasher_update(Hasher *h, const void *p, size_t n) {
        assert(h);
        return digest_set_update(&h->set, p, n);
}

int hasher_copy(Hasher *dst, const Hasher *src) {
        assert(dst);
        assert(src);
        return digest_set_copy(&dst->set, &src->set);
}

int hasher_reset(Hasher *h) {
        assert(h);
        return digest_set_restart(&h->set);
}

uint64_t hasher_get_size(const Hasher *h) {
        assert(h);
        return h->set.size;
}

int hasher_get_digest(Hasher *h, DigestAlgorithm a, Digest *ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        int r;

        assert(h);
        assert(algorithm_valid(a));
        assert(ret);

        r = digest_set_peek(&h->set, a, md, &len);
        if (r < 0)
                return r;
        if (len != algorithms[a].size || len > sizeof ret->bytes)
                return -EIO;
        *ret = (Digest) { .algorithm = a };
        memcpy(ret->bytes, md, len);
        return 0;
}

int hasher_update_from_fd(Hasher *h, int fd, uint64_t end, size_t max_bytes) {
        size_t done = 0;
        int r;

        assert(h);
        assert(fd >= 0);

        if (!h->buf) {
                h->buf = malloc(READ_BUFFER_SIZE);
                if (!h->buf)
                        return -ENOMEM;
        }
        while (h->set.size < end && done < max_bytes) {
                size_t want = READ_BUFFER_SIZE;
                if (want > max_bytes - done)
                        want = max_bytes - done;
                if (want > end - h->set.size)
                        want = (size_t) (end - h->set.size);

                ssize_t k = pread(fd, h->buf, want, (off_t) h->set.size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -ENODATA;  /* shorter than we were told: truncated under us */
                r = hasher_update(h, h->buf, (size_t) k);
                if (r < 0)
                        return r;
                done += (size_t) k;
        }
        return h->set.size >= end;
}
