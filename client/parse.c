/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        assert(s);
        assert(ret);

        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Splits "12.5MiB" into 12, 0.5 and "MiB". strtoull() alone would accept "-1" and leading
 * blanks; here a number starts with a digit. The integer part stays exact (doubles are not
 * above 2^53). */
static int parse_number(const char *s, uint64_t *ret_int, double *ret_frac, const char **ret_end) {
        double frac = 0;
        char *end;
        uint64_t v;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        if (*end == '.') {
                const char *dot = end;

                if (!isdigit((unsigned char) dot[1]))
                        return -EINVAL;
                frac = strtod(dot, &end);
        }
        *ret_int = v;
        *ret_frac = frac;
        *ret_end = end;
        return 0;
}

/* value = whole * factor + frac * factor, rounded down; fails on overflow, and on a fraction
 * without a unit ("1.5" bytes or seconds is a typo, "1.5M" is not). */
static int scale(uint64_t whole, double frac, uint64_t factor, uint64_t *ret) {
        double extra = floor(frac * (double) factor);

        if (factor == 1 && frac != 0)
                return -EINVAL;
        if (whole > UINT64_MAX / factor)
                return -ERANGE;
        whole *= factor;
        if ((double) (UINT64_MAX - whole) < extra)
                return -ERANGE;
        *ret = whole + (uint64_t) extra;
        return 0;
}

typedef struct Unit {
        const char *suffix;
        uint64_t factor;
} Unit;

/* A number and one of the units (compared without case), as the unit's multiple. */
static int parse_with_unit(const char *s, const Unit *units, size_t n_units, uint64_t *ret) {
        const char *end;
        uint64_t whole;
        double frac;
        int r;

        r = parse_number(s, &whole, &frac, &end);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++)
                if (strcasecmp(end, units[i].suffix) == 0)
                        return scale(whole, frac, units[i].factor, ret);
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "", 1 }, { "B", 1 },
                { "K", UINT64_C(1) << 10 }, { "KiB", UINT64_C(1) << 10 },
                { "M", UINT64_C(1) << 20 }, { "MiB", UINT64_C(1) << 20 },
                { "G", UINT64_C(1) << 30 }, { "GiB", UINT64_C(1) << 30 },
                { "T", UINT64_C(1) << 40 }, { "TiB", UINT64_C(1) << 40 },
        };

        assert(s);
        assert(ret);
        return parse_with_unit(s, units, sizeof units / sizeof units[0], ret);
}

int parse_seconds(const char *s, uint32_t *ret) {
        static const Unit units[] = {
                { "", 1 }, { "s", 1 }, { "sec", 1 },
                { "m", 60 }, { "min", 60 },
                { "h", 3600 },
                { "d", 86400 },
        };
        uint64_t v;
        int r;

        assert(s);
        assert(ret);

        r = parse_with_unit(s, units, sizeof units / sizeof units[0], &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_count(const char *s, uint32_t max, uint32_t *ret) {
        size_t n;
        uint64_t v;

        assert(s);
        assert(ret);

        n = strlen(s);
        if (n == 0 || strspn(s, "0123456789") != n)
                return -EINVAL;
        /* Leading zeros aside, more than 10 digits is above any uint32_t. */
        while (s[0] == '0' && s[1])
                s++;
        if (strlen(s) > 10)
                return -ERANGE;
        v = strtoull(s, NULL, 10);
        if (v > max)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}
