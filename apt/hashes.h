/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The hashes apt deals in (MD5Sum, SHA1, SHA256, SHA512 and the size, which apt calls
 * Checksum-FileSize), computed with OpenSSL's EVP interface, and the rules apt applies to
 * them: which ones a method computes, and when two lists agree. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

typedef enum HashType {
        HASH_MD5,
        HASH_SHA1,
        HASH_SHA256,
        HASH_SHA512,
        _HASH_MAX,
} HashType;

#define HASH_HEX_MAX 129        /* SHA-512 in hex, with the NUL */

typedef struct HashList {
        char hex[_HASH_MAX][HASH_HEX_MAX];  /* lower case; "" where absent */
        bool have_size;
        uint64_t size;
} HashList;

/* The Expected-<type> fields of a 600 URI Acquire message. -EBADMSG for a value that is not
 * hex of the right length, or a size that is not a number. */
int hash_list_from_acquire(HashList *ret, const Message *m);
/* Whether the list holds a hash apt trusts (SHA256 or SHA512; MD5Sum and SHA1 are not). */
bool hash_list_usable(const HashList *l);
/* The hash types a method computes for a file with these expected hashes, as apt's Hashes
 * class does: the usable list's own types, or every type when it has none usable. */
unsigned hash_list_wanted(const HashList *expected);
/* apt's comparison: every type both lists hold agrees (the size counts as a type), and there
 * is at least one such type. */
bool hash_list_matches(const HashList *expected, const HashList *got);
/* For xferd's checksum option: "sha512:<hex>" or "sha256:<hex>" from the strongest usable
 * hash, NULL when there is none. */
const char *hash_list_checksum(const HashList *l, char *buf, size_t size);
/* Adds "<Type>-Hash" fields (and apt's old "MD5-Hash", and "Checksum-FileSize-Hash") for
 * every hash in the list. */
void hash_list_to_message(const HashList *l, MessageOut *o);

/* Incremental hashing of a stream of bytes. */
typedef struct Hasher Hasher;

int hasher_new(Hasher **ret, unsigned types);
int hasher_update(Hasher *h, const void *data, size_t n);
int hasher_finish(Hasher *h, HashList *ret);
Hasher *hasher_free(Hasher *h);
static inline void hasher_freep(Hasher **h) {
        hasher_free(*h);
}
