/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the xferctl sources. */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _printf_(fmt, args) __attribute__((format(printf, fmt, args)))
#define _unused_ __attribute__((unused))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* Hands ownership of *p to the caller and leaves NULL behind, so a _cleanup_ does not free it. */
static inline void *steal_ptr(void *p) {
        void **pp = p, *q = *pp;
        *pp = NULL;
        return q;
}

/* Replaces a heap string, freeing the old one; returns -ENOMEM and leaves *p alone on failure. */
int strdup_replace(char **p, const char *s);
