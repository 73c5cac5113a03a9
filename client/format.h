/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Numbers as people read them: sizes, rates, durations and times. */

#include <stdint.h>

#define FORMAT_BYTES_MAX 32
#define FORMAT_DURATION_MAX 32
#define FORMAT_TIMESTAMP_MAX 64

/* "512 B", "1.5 KiB", "12.3 MiB"… */
const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

/* "45s", "12m05s", "3h02m", "2d04h". */
const char *format_duration(char buf[static FORMAT_DURATION_MAX], uint64_t seconds);

/* µs since the epoch as local time, "2024-05-01 12:34:56 CEST"; 0 gives "never". */
const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);

/* "45%" style percentage of done/total, rounded down so 100% means really done. */
unsigned format_percent(uint64_t done, uint64_t total);

#define FORMAT_PROGRESS_MAX (2 * FORMAT_BYTES_MAX + 16)

/* "12.3 MiB / 27.0 MiB (45%)"; "12.3 MiB / ?" while the total (UINT64_MAX) is unknown. */
const char *format_progress(char buf[static FORMAT_PROGRESS_MAX], uint64_t done, uint64_t total);

#define FORMAT_UID_MAX 64

/* "1000 (alice)", or just "1000" when the user has no name here. */
const char *format_uid(char buf[static FORMAT_UID_MAX], uint32_t uid);
