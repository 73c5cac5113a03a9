/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Closes and marks as closed; returns -1 so it can be used as `fd = safe_close(fd)`. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Hands ownership to the caller and leaves NULL (or -1) behind. */
static inline void *take_ptr_impl(void *pp) {
        void **q = pp;
        void *r = *q;

        *q = NULL;
        return r;
}
#define TAKE_PTR(p) ((__typeof__(p)) take_ptr_impl((void *) &(p)))

static inline int take_fd_impl(int *fd) {
        int r = *fd;

        *fd = -1;
        return r;
}
#define TAKE_FD(fd) take_fd_impl(&(fd))

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

static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

/* NULL-terminated string arrays. */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char * const *l);
char **strv_copy(char * const *l);
bool strv_contains_case(char * const *l, const char *s);
/* The strings of l with separator between them ("" for none); NULL when out of memory. */
char *strv_join(char * const *l, const char *separator);
/* Appends s to *l, taking it: freed on failure. A NULL s (a failed strdup) is -ENOMEM. */
int strv_consume(char ***l, char *s);

/* Enum names: the index of s in table[0..n) (NULL entries match nothing), or -1 for NULL or
 * a name not in it. */
int string_table_lookup(const char *const *table, size_t n, const char *s);
/* The name of value i: table[i], or NULL when i is outside [0, n). */
const char *string_table_get(const char *const *table, size_t n, long i);

/* A whole decimal number no larger than max, digits only: no sign, no blank, nothing after.
 * -EINVAL when s does not start with a digit; -ERANGE when something follows the digits or
 * the number is larger than max. */
int parse_uint64(const char *s, uint64_t max, uint64_t *ret);
/* v's decimal digits and a NUL into buf (DECIMAL_U32_MAX bytes); returns the count of digits. Not
 * snprintf(), which takes about 600 instructions for it: the keys and names a new job needs. */
#define DECIMAL_U32_MAX 11
static inline size_t decimal_u32(char *buf, uint32_t v) {
        char digits[DECIMAL_U32_MAX];
        size_t n = 0;

        do {
                digits[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        for (size_t i = 0; i < n; i++)
                buf[i] = digits[n - 1 - i];
        buf[n] = 0;
        return n;
}

/* Grows *items (of `size`-byte elements) to hold at least `need`, doubling from 16. An array
 * of more than PTRDIFF_MAX bytes (no allocator makes one) is refused with -ENOMEM before it
 * is asked for, and doubling stops at that limit instead of wrapping. On failure *items and
 * *allocated are left as they were. */
int array_reserve(void **items, size_t *allocated, size_t need, size_t size);

uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);
/* CLOCK_REALTIME's time usec from now, as pthread_cond_timedwait() takes a deadline. */
struct timespec timespec_realtime_after(uint64_t usec);
/* The loop's time of `clock`, the same for every source of one iteration; the clock's own
 * time where the loop has none. */
uint64_t event_now(sd_event *e, clockid_t clock);
