/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Values typed on the command line, for `xferctl set`. All return 0 or -EINVAL/-ERANGE. */

#include <stdbool.h>
#include <stdint.h>

/* yes/no, true/false, on/off, 1/0 (any case). */
int parse_bool(const char *s, bool *ret);

/* A byte count, optionally with a binary suffix: 512, 64K, 1.5M, 2G, 3T (also KiB, MiB…). */
int parse_size(const char *s, uint64_t *ret);

/* Seconds, optionally with a unit: 30, 30s, 10m, 2h, 14d. */
int parse_seconds(const char *s, uint32_t *ret);

/* A plain count: decimal digits only (strtoul() would take "-1" and " 3"), no unit, at most
 * max (-ERANGE above). */
int parse_count(const char *s, uint32_t max, uint32_t *ret);
