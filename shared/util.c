/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <strings.h>
#include <time.h>

#include "util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        return mfree(l);
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

char **strv_copy(char * const *l) {
        size_t n = strv_length(l);
        char **r = calloc(n + 1, sizeof(char *));

        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                r[i] = strdup(l[i]);
                if (!r[i])
                        return strv_free(r);
        }
        return r;
}

char *strv_join(char * const *l, const char *separator) {
        size_t n = 1, k;
        char *s, *p;

        assert(separator);

        k = strlen(separator);
        for (char * const *i = l; i && *i; i++)
                n += strlen(*i) + k;
        s = p = malloc(n);
        if (!s)
                return NULL;
        for (char * const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *i);
        }
        *p = 0;
        return s;
}

bool strv_contains_case(char * const *l, const char *s) {
        if (l)
                for (char * const *i = l; *i; i++)
                        if (strcasecmp(*i, s) == 0)
                                return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        size_t n;
        char **t;

        assert(l);

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        t = reallocarray(*l, n + 2, sizeof *t);
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[n] = s;
        t[n + 1] = NULL;
        *l = t;
        return 0;
}

int string_table_lookup(const char *const *table, size_t n, const char *s) {
        assert(table);

        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -1;
}

int parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;

        assert(s);
        assert(ret);

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

const char *string_table_get(const char *const *table, size_t n, long i) {
        assert(table);

        return i >= 0 && (unsigned long) i < n ? table[i] : NULL;
}

int array_reserve(void **items, size_t *allocated, size_t need, size_t size) {
        size_t max, a;
        void *p;

        assert(items);
        assert(allocated);
        assert(size > 0);

        if (need <= *allocated)
                return 0;
        max = (size_t) PTRDIFF_MAX / size;
        if (need > max)
                return -ENOMEM;
        if (*allocated == 0)
                a = 16;
        else if (*allocated <= max / 2)
                a = *allocated * 2;
        else
                a = max;
        if (a < need)
                a = need;
        if (a > max)
                a = max;
        p = reallocarray(*items, a, size);
        if (!p)
                return -ENOMEM;
        *items = p;
        *allocated = a;
        return 0;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t now_realtime_usec(void) {
        return now_usec(CLOCK_REALTIME);
}

uint64_t now_monotonic_usec(void) {
        return now_usec(CLOCK_MONOTONIC);
}

struct timespec timespec_realtime_after(uint64_t usec) {
        uint64_t t = now_realtime_usec() + usec;

        return (struct timespec) { .tv_sec = (time_t) (t / USEC_PER_SEC),
                                   .tv_nsec = (long) (t % USEC_PER_SEC) * 1000 };
}

uint64_t event_now(sd_event *e, clockid_t clock) {
        uint64_t t;

        assert(e);

        if (sd_event_now(e, clock, &t) >= 0)
                return t;
        return clock == CLOCK_REALTIME ? now_realtime_usec() : now_monotonic_usec();
}
