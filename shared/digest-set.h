/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Several of OpenSSL's message digests computed over the same bytes at once, each in a slot
 * numbered by the caller (its own list of algorithms), and how many bytes went in: the one
 * copy of the EVP contexts' handling behind the daemon's Hasher (daemon/digest.c) and the
 * apt method's (apt/hashes.c). */

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_SET_SLOTS 4

typedef struct DigestSet {
        EVP_MD_CTX *ctx[DIGEST_SET_SLOTS];      /* NULL: the slot is not computed */
        const EVP_MD *md[DIGEST_SET_SLOTS];
        uint64_t size;
} DigestSet;

/* Starts computing md in slot (again, if it was). -ENOMEM, or -EIO when OpenSSL refuses. */
int digest_set_start(DigestSet *s, unsigned slot, const EVP_MD *md);
/* Starts every slot that is computed over again, at size 0. */
int digest_set_restart(DigestSet *s);
int digest_set_update(DigestSet *s, const void *p, size_t n);
/* The digest of slot's bytes so far into md (EVP_MAX_MD_SIZE bytes), its length in *len; the
 * set may go on. -ENOENT when the slot is not computed. */
int digest_set_peek(const DigestSet *s, unsigned slot, unsigned char *md, unsigned *len);
/* Frees the contexts; the set is empty after. */
/* dst becomes a copy of src (its contexts reused where it has them). -ENOMEM or -EIO. */
int digest_set_copy(DigestSet *dst, const DigestSet *src);
void digest_set_done(DigestSet *s);
