/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>

#include "digest-set.h"

int digest_set_start(DigestSet *s, unsigned slot, const EVP_MD *md) {
        assert(s);
        assert(slot < DIGEST_SET_SLOTS);
        assert(md);

        if (!s->ctx[slot]) {
                s->ctx[slot] = EVP_MD_CTX_new();
                if (!s->ctx[slot])
                        return -ENOMEM;
        }
        s->md[slot] = md;
        return EVP_DigestInit_ex(s->ctx[slot], md, NULL) == 1 ? 0 : -EIO;
}

int digest_set_restart(DigestSet *s) {
        int r;

        assert(s);

        for (unsigned i = 0; i < DIGEST_SET_SLOTS; i++)
                if (s->ctx[i]) {
                        r = digest_set_start(s, i, s->md[i]);
                        if (r < 0)
                                return r;
                }
        s->size = 0;
        return 0;
}

int digest_set_update(DigestSet *s, const void *p, size_t n) {
        assert(s);
        assert(p || n == 0);

        for (unsigned i = 0; i < DIGEST_SET_SLOTS; i++)
                if (s->ctx[i] && EVP_DigestUpdate(s->ctx[i], p, n) != 1)
                        return -EIO;
        s->size += n;
        return 0;
}

int digest_set_peek(const DigestSet *s, unsigned slot, unsigned char *md, unsigned *len) {
        EVP_MD_CTX *copy;
        int r = 0;

        assert(s);
        assert(slot < DIGEST_SET_SLOTS);
        assert(md);
        assert(len);

        if (!s->ctx[slot])
                return -ENOENT;
        /* A copy is finalized: the set goes on (a digest may be read before the end). */
        copy = EVP_MD_CTX_new();
        if (!copy)
                return -ENOMEM;
        if (EVP_MD_CTX_copy_ex(copy, s->ctx[slot]) != 1 || EVP_DigestFinal_ex(copy, md, len) != 1)
                r = -EIO;
        EVP_MD_CTX_free(copy);
        return r;
}

int digest_set_copy(DigestSet *dst, const DigestSet *src) {
        assert(dst);
        assert(src);

        for (unsigned i = 0; i < DIGEST_SET_SLOTS; i++) {
                if (!src->ctx[i]) {
                        EVP_MD_CTX_free(dst->ctx[i]);
                        dst->ctx[i] = NULL;
                        dst->md[i] = NULL;
                        continue;
                }
                if (!dst->ctx[i]) {
                        dst->ctx[i] = EVP_MD_CTX_new();
                        if (!dst->ctx[i])
                                return -ENOMEM;
                }
                if (EVP_MD_CTX_copy_ex(dst->ctx[i], src->ctx[i]) != 1)
                        return -EIO;
                dst->md[i] = src->md[i];
        }
        dst->size = src->size;
        return 0;
}

void digest_set_done(DigestSet *s) {
        assert(s);

        for (unsigned i = 0; i < DIGEST_SET_SLOTS; i++)
                EVP_MD_CTX_free(s->ctx[i]);
        *s = (DigestSet) { .size = 0 };
}
