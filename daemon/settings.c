/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdio.h>

#include "settings.h"
#include "log.h"
#include "util.h"

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *ret) {
        char *end;

        if (!isdigit((unsigned char) v[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno != 0 || *end || n > max)
                return -ERANGE;
        *ret = n;
        return 0;
}

typedef enum Unit { UNIT_COUNT, UNIT_SECONDS, UNIT_DAYS, UNIT_BYTES_PER_SEC } Unit;

static int apply(DaemonSettings *s, const char *key, const char *value) {
        static const struct {
                const char *key;
                Unit unit;
                uint64_t max;
        } keys[] = {
                { "IdleTimeoutSec", UNIT_SECONDS, UINT32_MAX },
                { "RetentionSec", UNIT_SECONDS, UINT32_MAX },
                { "MaxBackgroundTransfers", UNIT_COUNT, 1024 },
                { "BackgroundBandwidthLimit", UNIT_BYTES_PER_SEC, UINT64_MAX },
                { "MaxJobsPerUser", UNIT_COUNT, UINT32_MAX },
                { "MaxJobs", UNIT_COUNT, UINT32_MAX },
                { "MaxFilesPerJob", UNIT_COUNT, UINT32_MAX },
                { "JobInactivityTimeoutDays", UNIT_DAYS, 36500 },
                { "StallTimeoutSec", UNIT_SECONDS, 86400 },
                { "TimeSliceSec", UNIT_SECONDS, 86400 },
                { "JobInactivityTimeoutSec", UNIT_SECONDS, UINT32_MAX },
                { "MaxHttpHeaders", UNIT_COUNT, UINT32_MAX },
                { "MaxHttpHeaderBytes", UNIT_COUNT, UINT64_MAX },
                { "MaxHttpHeaderBytesPerUser", UNIT_COUNT, UINT64_MAX },
        };
        uint64_t v;
        size_t i;
        int r;

        for (i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].key, key))
                        break;
        if (i == ELEMENTSOF(keys))
                return -ENOKEY;
        r = parse_u64(value, keys[i].max, &v);
        if (r < 0)
                return r;

        ManagerConfig *m = &s->manager;
        switch (i) {
        case 0: s->idle_timeout_usec = v * USEC_PER_SEC; break;
        case 1: m->retention_usec = v * USEC_PER_SEC; break;
        case 2:
                if (v == 0)
                        return -ERANGE;
                m->max_background_transfers = (uint32_t) v;
                break;
        case 3: m->background_bandwidth_limit = v; break;
        case 4: m->max_jobs_per_user = (uint32_t) v; break;
        case 5: m->max_jobs = (uint32_t) v; break;
        case 6: m->max_files_per_job = (uint32_t) v; break;
        case 7: m->job_inactivity_usec = v * 24 * 3600 * USEC_PER_SEC; break;
        case 8:
                if (v == 0)
                        return -ERANGE;
                m->transfer.stall_timeout_usec = v * USEC_PER_SEC;
                break;
        case 9:
                if (v == 0)
                        return -ERANGE;
                m->time_slice_usec = v * USEC_PER_SEC;
                break;
        case 10:
                if (v == 0)
                        return -ERANGE;
                m->job_inactivity_usec = v * USEC_PER_SEC;
                break;
        case 11: m->max_http_headers = (uint32_t) v; break;
        case 12: m->max_http_header_bytes = v; break;
        case 13: m->max_http_header_bytes_per_user = v; break;
        default: return -ENOKEY;
        }
        return 0;
}

void settings_manager_defaults(ManagerConfig *c) {
        assert(c);

        *c = (ManagerConfig) {
                .system = false,
                .retention_usec = 300 * USEC_PER_SEC,
                .retry_delay_floor = 5,
                .max_background_transfers = 4,
                .background_bandwidth_limit = 0,
                .max_jobs_per_user = 60,
                .max_jobs = 300,
                .max_files_per_job = 200,
                .max_http_headers = 64,
                .max_http_header_bytes = 16384,
                .max_http_header_bytes_per_user = 262144,
                .max_url_length = 2200,
                .job_inactivity_usec = 90ULL * 24 * 3600 * USEC_PER_SEC,
                .time_slice_usec = 300 * USEC_PER_SEC,
                .delete_retry_base_usec = 5 * USEC_PER_SEC,
                .foreground_retry_base_usec = 5 * USEC_PER_SEC,
                .transfer = {
                        .connect_timeout_usec = 30 * USEC_PER_SEC,
                        .stall_timeout_usec = 60 * USEC_PER_SEC,
                },
        };
}

int settings_load(const char *path, DaemonSettings *s) {
        FILE *f;
        char line[1024];
        unsigned n = 0;
        int r = 0;

        assert(path);
        assert(s);

        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read %s", path);

        while (fgets(line, sizeof line, f)) {
                n++;
                char *l = strip(line);
                if (!*l || *l == '#' || *l == ';')
                        continue;
                if (*l == '[')
                        continue;  /* one section, [Daemon]; its name is not checked */
                char *eq = strchr(l, '=');
                if (!eq) {
                        r = log_error_errno(EINVAL, "%s:%u: expected Key=Value", path, n);
                        break;
                }
                *eq = 0;
                char *key = strip(l), *value = strip(eq + 1);
                int k = apply(s, key, value);
                if (k == -ENOKEY)
                        log_warning("%s:%u: unknown setting '%s', ignored.", path, n, key);
                else if (k < 0) {
                        r = log_error_errno(k, "%s:%u: invalid value '%s' for %s", path, n, value, key);
                        break;
                }
        }
        fclose(f);
        return r;
}
