/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <sys/random.h>

#include "hashmap.h"
#include "util.h"

typedef struct HashmapSlot {
        const char *key;        /* NULL: free */
        void *value;
} HashmapSlot;

struct Hashmap {
        HashmapSlot *slots;
        size_t n_slots;         /* 0 or a power of two */
        size_t n_entries;       /* at most half of n_slots */
        uint64_t seed;          /* so that nobody can pick keys that collide */
};

#define HASHMAP_MIN_SLOTS 16

/* FNV-1a, seeded. */
static uint64_t hash_string(const char *s, uint64_t seed) {
        uint64_t h = UINT64_C(14695981039346656037) ^ seed;

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(1099511628211);
        }
        return h ^ (h >> 29);
}

Hashmap *hashmap_new(void) {
        Hashmap *h = calloc(1, sizeof *h);

        if (!h)
                return NULL;
        if (getrandom(&h->seed, sizeof h->seed, GRND_NONBLOCK) != sizeof h->seed)
                h->seed = now_monotonic_usec() ^ (uint64_t) (uintptr_t) h;
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        free(h->slots);
        return mfree(h);
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_entries : 0;
}

/* The slot of `key`, or the free slot where it would go. */
static size_t hashmap_find(const Hashmap *h, const char *key) {
        size_t mask = h->n_slots - 1;

        for (size_t i = hash_string(key, h->seed) & mask;; i = (i + 1) & mask)
                if (!h->slots[i].key || streq(h->slots[i].key, key))
                        return i;
}

static int hashmap_resize(Hashmap *h, size_t n_slots) {
        HashmapSlot *old = h->slots;
        size_t n_old = h->n_slots;

        if (n_slots > SIZE_MAX / sizeof(HashmapSlot))
                return -ENOMEM;
        h->slots = calloc(n_slots, sizeof(HashmapSlot));
        if (!h->slots) {
                h->slots = old;
                return -ENOMEM;
        }
        h->n_slots = n_slots;
        for (size_t i = 0; i < n_old; i++)
                if (old[i].key)
                        h->slots[hashmap_find(h, old[i].key)] = old[i];
        free(old);
        return 0;
}

int hashmap_reserve(Hashmap *h, size_t n) {
        size_t n_slots;

        assert(h);

        if (n > SIZE_MAX / 4)
                return -ENOMEM;
        for (n_slots = h->n_slots ? h->n_slots : HASHMAP_MIN_SLOTS; n * 2 > n_slots; n_slots *= 2)
                ;
        return n_slots > h->n_slots ? hashmap_resize(h, n_slots) : 0;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        size_t i;
        int r;

        assert(h);
        assert(key);

        /* At most half full: probes stay short. */
        if ((h->n_entries + 1) * 2 > h->n_slots) {
                if (h->n_slots > SIZE_MAX / 2)
                        return -ENOMEM;
                r = hashmap_resize(h, h->n_slots ? h->n_slots * 2 : HASHMAP_MIN_SLOTS);
                if (r < 0)
                        return r;
        }
        i = hashmap_find(h, key);
        if (h->slots[i].key)
                return -EEXIST;
        h->slots[i] = (HashmapSlot) { .key = key, .value = value };
        h->n_entries++;
        return 0;
}

void *hashmap_get(const Hashmap *h, const char *key) {
        size_t i;

        assert(key);

        if (!h || h->n_entries == 0)
                return NULL;
        i = hashmap_find(h, key);
        return h->slots[i].key ? h->slots[i].value : NULL;
}

/* Empties slot i and moves up the entries after it that would no longer be found (linear
 * probing without tombstones). */
static void *hashmap_remove_slot(Hashmap *h, size_t i) {
        size_t mask = h->n_slots - 1;
        void *value = h->slots[i].value;

        h->slots[i] = (HashmapSlot) { .key = NULL };
        h->n_entries--;
        for (size_t j = (i + 1) & mask; h->slots[j].key; j = (j + 1) & mask) {
                size_t home = hash_string(h->slots[j].key, h->seed) & mask;
                /* Entry j may stay unless the hole at i lies between its home and j. */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        h->slots[i] = h->slots[j];
                        h->slots[j] = (HashmapSlot) { .key = NULL };
                        i = j;
                }
        }
        return value;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        size_t i;

        assert(key);

        if (!h || h->n_entries == 0)
                return NULL;
        i = hashmap_find(h, key);
        if (!h->slots[i].key)
                return NULL;
        return hashmap_remove_slot(h, i);
}

bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret) {
        assert(i);
        assert(ret);

        for (; h && *i < h->n_slots; (*i)++)
                if (h->slots[*i].key) {
                        *ret = h->slots[(*i)++].value;
                        return true;
                }
        *ret = NULL;
        return false;
}

void hashmap_clear(Hashmap *h) {
        if (!h || h->n_entries == 0)
                return;
        memset(h->slots, 0, h->n_slots * sizeof(HashmapSlot));
        h->n_entries = 0;
}
