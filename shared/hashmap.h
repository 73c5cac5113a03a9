/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A hash map from strings to pointers, with open addressing. The map neither copies nor frees
 * keys or values: a key is a string inside its value (a job's id, a bus name), valid while the
 * value is in the map. Lookups are O(1) on average whatever the number of entries. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

typedef struct Hashmap Hashmap;

/* A uid as a key: its decimal digits, kept in the value for as long as it is in the map. */
typedef struct UidKey {
        char s[DECIMAL_U32_MAX];
} UidKey;

static inline UidKey uid_key(uid_t uid) {
        UidKey k;

        (void) decimal_u32(k.s, (uint32_t) uid);
        return k;
}

Hashmap *hashmap_new(void);
Hashmap *hashmap_free(Hashmap *h);

/* -EEXIST when the key is already there, -ENOMEM when the map cannot grow. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
/* Returns the value that was removed, NULL when the key was not there. */
void *hashmap_remove(Hashmap *h, const char *key);
size_t hashmap_size(const Hashmap *h);
/* Room for n entries in all, so that adding them does not grow the map again (-ENOMEM). */
int hashmap_reserve(Hashmap *h, size_t n);

/* Walks the values, in no order: `size_t i = 0; void *v; while (hashmap_iterate(h, &i, &v))`.
 * The map must not change during the walk. */
bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret);
/* Forgets every entry (and frees nothing), keeping the room for as many. */
void hashmap_clear(Hashmap *h);

static inline void hashmap_freep(Hashmap **h) {
        hashmap_free(*h);
}
