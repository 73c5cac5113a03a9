/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>

#include "format.h"

const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        unsigned i = 0;

        assert(buf);

        if (bytes < 1024) {
                snprintf(buf, FORMAT_BYTES_MAX, "%u B", (unsigned) bytes);
                return buf;
        }

        v /= 1024;
        while (v >= 1024 && i + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                i++;
        }
        /* One decimal below 100 keeps the width steady while a progress bar runs. */
        if (v < 100)
                snprintf(buf, FORMAT_BYTES_MAX, "%.1f %s", v, units[i]);
        else
                snprintf(buf, FORMAT_BYTES_MAX, "%.0f %s", v, units[i]);
        return buf;
}

const char *format_duration(char buf[static FORMAT_DURATION_MAX], uint64_t s) {
        assert(buf);

        if (s < 60)
                snprintf(buf, FORMAT_DURATION_MAX, "%us", (unsigned) s);
        else if (s < 3600)
                snprintf(buf, FORMAT_DURATION_MAX, "%um%02us", (unsigned) (s / 60), (unsigned) (s % 60));
        else if (s < 86400)
                snprintf(buf, FORMAT_DURATION_MAX, "%uh%02um", (unsigned) (s / 3600), (unsigned) (s % 3600 / 60));
        else
                snprintf(buf, FORMAT_DURATION_MAX, "%llud%02uh",
                         (unsigned long long) (s / 86400), (unsigned) (s % 86400 / 3600));
        return buf;
}

const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        assert(buf);

        if (usec == 0 || !localtime_r(&t, &tm) ||
            strftime(buf, FORMAT_TIMESTAMP_MAX, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, FORMAT_TIMESTAMP_MAX, usec == 0 ? "never" : "@%llu µs",
                         (unsigned long long) usec);
        return buf;
}

unsigned format_percent(uint64_t done, uint64_t total) {
        if (total == 0 || done >= total)
                return total == 0 ? 0 : 100;
        uint64_t p;

        /* Avoids overflowing done * 100 for huge sizes; that way rounds up, so cap it: only
         * a finished transfer shows 100%. */
        if (done > UINT64_MAX / 100)
                p = done / (total / 100);
        else
                p = done * 100 / total;
        return (unsigned) (p > 99 ? 99 : p);
}

const char *format_progress(char buf[static FORMAT_PROGRESS_MAX], uint64_t done, uint64_t total) {
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];

        assert(buf);

        if (total == UINT64_MAX)
                snprintf(buf, FORMAT_PROGRESS_MAX, "%s / ?", format_bytes(a, done));
        else
                snprintf(buf, FORMAT_PROGRESS_MAX, "%s / %s (%u%%)", format_bytes(a, done), format_bytes(b, total),
                         format_percent(done, total));
        return buf;
}

const char *format_uid(char buf[static FORMAT_UID_MAX], uint32_t uid) {
        struct passwd pw, *result = NULL;
        char scratch[1024];

        assert(buf);

        if (getpwuid_r((uid_t) uid, &pw, scratch, sizeof scratch, &result) == 0 && result)
                snprintf(buf, FORMAT_UID_MAX, "%u (%.40s)", (unsigned) uid, result->pw_name);
        else
                snprintf(buf, FORMAT_UID_MAX, "%u", (unsigned) uid);
        return buf;
}
