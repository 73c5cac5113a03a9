/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

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

int settings_parse_size(const char *v, uint64_t *ret) {
        static const char suffixes[] = "KMGT";
        char buf[32], *s;
        uint64_t n, factor = 1;
        size_t len;
        int r;

        assert(v);
        assert(ret);

        len = strlen(v);
        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, v, len + 1);
        s = strchr(suffixes, buf[len - 1]);
        if (s && *s) {
                for (const char *k = suffixes; k <= s; k++)
                        factor *= 1024;
                buf[len - 1] = 0;
        }
        r = parse_uint64(buf, UINT64_MAX / factor, &n);
        if (r < 0)
                return r;
        *ret = n * factor;
        return 0;
}

int settings_parse_reserve(const char *v, DiskReserve *ret) {
        size_t len;
        int r;

        assert(v);
        assert(ret);

        len = strlen(v);
        if (len > 1 && v[len - 1] == '%') {
                char buf[8];
                uint64_t p;

                if (len >= sizeof buf)
                        return -ERANGE;
                memcpy(buf, v, len - 1);
                buf[len - 1] = 0;
                r = parse_uint64(buf, 100, &p);
                if (r < 0)
                        return r;
                *ret = (DiskReserve) { .percent = (unsigned) p };
                return 0;
        }
        uint64_t b;
        r = settings_parse_size(v, &b);
        if (r < 0)
                return r;
        *ret = (DiskReserve) { .bytes = b };
        return 0;
}

/* Keys whose values are not plain numbers. */
static int apply_special(DaemonSettings *s, const char *key, const char *value) {
        if (streq(key, "MaxFileSize"))
                return settings_parse_size(value, &s->manager.max_file_size);
        if (streq(key, "KeepFree"))
                return settings_parse_reserve(value, &s->manager.keep_free);
        return -ENOKEY;
}

typedef enum Unit { UNIT_COUNT, UNIT_SECONDS, UNIT_DAYS, UNIT_BYTES_PER_SEC } Unit;

/* The keys whose values are plain numbers, each with the field of DaemonSettings it sets (a
 * uint64_t, or a uint32_t where u32 says so); seconds and days are stored as µs. */
static const struct {
        const char *key;
        Unit unit;
        uint64_t min, max;      /* in the key's unit; a 0 that would mean nothing is refused */
        bool u32;
        size_t offset;
} numeric_keys[] = {
        { "IdleTimeoutSec", UNIT_SECONDS, 0, UINT32_MAX, false, offsetof(DaemonSettings, idle_timeout_usec) },
        { "RetentionSec", UNIT_SECONDS, 0, UINT32_MAX, false, offsetof(DaemonSettings, manager.retention_usec) },
        { "MaxBackgroundTransfers", UNIT_COUNT, 1, 1024, true,
          offsetof(DaemonSettings, manager.max_background_transfers) },
        { "BackgroundBandwidthLimit", UNIT_BYTES_PER_SEC, 0, UINT64_MAX, false,
          offsetof(DaemonSettings, manager.background_bandwidth_limit) },
        { "MaxJobsPerUser", UNIT_COUNT, 0, UINT32_MAX, true, offsetof(DaemonSettings, manager.max_jobs_per_user) },
        { "MaxJobs", UNIT_COUNT, 0, UINT32_MAX, true, offsetof(DaemonSettings, manager.max_jobs) },
        { "MaxFilesPerJob", UNIT_COUNT, 0, UINT32_MAX, true, offsetof(DaemonSettings, manager.max_files_per_job) },
        { "JobInactivityTimeoutDays", UNIT_DAYS, 0, 36500, false,
          offsetof(DaemonSettings, manager.job_inactivity_usec) },
        { "StallTimeoutSec", UNIT_SECONDS, 1, 86400, false,
          offsetof(DaemonSettings, manager.transfer.stall_timeout_usec) },
        { "TimeSliceSec", UNIT_SECONDS, 1, 86400, false, offsetof(DaemonSettings, manager.time_slice_usec) },
        { "JobInactivityTimeoutSec", UNIT_SECONDS, 1, UINT32_MAX, false,
          offsetof(DaemonSettings, manager.job_inactivity_usec) },
        { "MaxHttpHeaders", UNIT_COUNT, 0, UINT32_MAX, true, offsetof(DaemonSettings, manager.max_http_headers) },
        { "MaxHttpHeaderBytes", UNIT_COUNT, 0, UINT64_MAX, false,
          offsetof(DaemonSettings, manager.max_http_header_bytes) },
        { "MaxHttpHeaderBytesPerUser", UNIT_COUNT, 0, UINT64_MAX, false,
          offsetof(DaemonSettings, manager.max_http_header_bytes_per_user) },
        { "MaxForegroundTransfersPerUser", UNIT_COUNT, 0, 1024, true,
          offsetof(DaemonSettings, manager.max_foreground_transfers_per_user) },
};

static uint64_t unit_factor(Unit unit) {
        switch (unit) {
        case UNIT_SECONDS:
                return USEC_PER_SEC;
        case UNIT_DAYS:
                return 24 * 3600 * USEC_PER_SEC;
        default:
                return 1;
        }
}

/* The keys whose values are words. */
static int apply_word(DaemonSettings *s, const char *key, const char *value) {
        if (streq(key, "DefaultCostPolicy")) {
                CostPolicy p = cost_policy_from_string(value);
                if (p < 0)
                        return -EINVAL;
                s->manager.default_cost_policy = p;
                return 0;
        }
        return -ENOKEY;
}

static int apply(DaemonSettings *s, const char *key, const char *value) {
        uint64_t v;
        size_t i;
        int r;

        r = apply_word(s, key, value);
        if (r != -ENOKEY)
                return r;
        for (i = 0; i < ELEMENTSOF(numeric_keys); i++)
                if (streq(numeric_keys[i].key, key))
                        break;
        if (i == ELEMENTSOF(numeric_keys))
                return apply_special(s, key, value);
        r = parse_uint64(value, numeric_keys[i].max, &v);
        if (r < 0)
                return r;
        if (v < numeric_keys[i].min)
                return -ERANGE;

        /* The maxima keep every product within 64 bits. */
        v *= unit_factor(numeric_keys[i].unit);
        void *field = (char *) s + numeric_keys[i].offset;
        if (numeric_keys[i].u32)
                *(uint32_t *) field = (uint32_t) v;
        else
                *(uint64_t *) field = v;
        return 0;
}

void settings_manager_defaults(ManagerConfig *c) {
        assert(c);

        *c = (ManagerConfig) {
                .system = false,
                .retention_usec = 300 * USEC_PER_SEC,
                .retry_delay_floor = 5,
                .max_background_transfers = 4,
                .max_foreground_transfers_per_user = 4,
                .background_bandwidth_limit = 0,
                .max_jobs_per_user = 60,
                .max_jobs = 300,
                .max_files_per_job = 200,
                .max_file_size = 0,
                /* The smaller of 1 GiB and 5% of the file system, a little like journald's
                 * KeepFree: a download never takes a disk's last bytes. */
                .keep_free = { .bytes = 1024ULL * 1024 * 1024, .percent = 5 },
                .max_http_headers = 64,
                .max_http_header_bytes = 16384,
                .max_http_header_bytes_per_user = 262144,
                .max_url_length = 2200,
                .job_inactivity_usec = 90ULL * 24 * 3600 * USEC_PER_SEC,
                .time_slice_usec = 300 * USEC_PER_SEC,
                .delete_retry_base_usec = 5 * USEC_PER_SEC,
                /* Updates wait for an unmetered network, as people expect of them. */
                .default_cost_policy = COST_POLICY_UNMETERED,
                .foreground_retry_base_usec = 5 * USEC_PER_SEC,
                .transfer = {
                        .connect_timeout_usec = 30 * USEC_PER_SEC,
                        .stall_timeout_usec = 60 * USEC_PER_SEC,
                },
        };
        proxy_settings_init(&c->transfer.network);
}

/* [Network]: strings, checked by proxy.c. -ENOKEY for a key that is not one of them. An
 * invalid value is reported here, never quoted: a proxy URL may hold a password. */
static int apply_network(DaemonSettings *s, const char *path, unsigned line, const char *key, const char *value) {
        ProxySettings *n = &s->manager.transfer.network;
        const char *why;
        uint64_t v;
        int r;

        if (streq(key, "Proxy")) {
                r = proxy_settings_set_proxy(n, value);
                why = proxy_describe_value;
        } else if (streq(key, "NoProxy")) {
                r = proxy_settings_set_no_proxy(n, value);
                why = proxy_describe_no_proxy;
        } else if (streq(key, "CacheHost")) {
                r = proxy_settings_set_cache_host(n, value);
                why = proxy_describe_cache_host;
        } else if (streq(key, "CAFile")) {
                r = proxy_settings_set_ca_file(n, value);
                why = "must be an absolute path";
        } else if (streq(key, "CacheFallbackSec")) {
                r = parse_uint64(value, 86400, &v);
                if (r >= 0)
                        n->cache_fallback_usec = v * USEC_PER_SEC;
                why = "must be a number of seconds from 0 (never) to 86400";
        } else
                return -ENOKEY;
        if (r == -EINVAL || r == -ERANGE) {
                log_error("%s:%u: invalid value for %s: it %s.", path, line, key, why);
                return -EINVAL;
        }
        if (r < 0)
                return log_error_errno(-r, "%s:%u: cannot store %s", path, line, key);
        return 0;
}

static bool is_network_key(const char *key) {
        return streq(key, "Proxy") || streq(key, "NoProxy") || streq(key, "CacheHost") ||
               streq(key, "CacheFallbackSec") || streq(key, "CAFile");
}

int settings_load(const char *path, DaemonSettings *s) {
        FILE *f;
        char line[1024];
        unsigned n = 0;
        int r = 0;
        bool network = false;   /* in [Network]; before any section header: [Daemon] */

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
                if (*l == '[') {
                        network = strcasecmp(l, "[Network]") == 0;
                        if (!network && strcasecmp(l, "[Daemon]") != 0)
                                log_warning("%s:%u: unknown section %s; its keys are read as usual.", path, n, l);
                        continue;
                }
                char *eq = strchr(l, '=');
                if (!eq) {
                        r = log_error_errno(EINVAL, "%s:%u: expected Key=Value", path, n);
                        break;
                }
                *eq = 0;
                char *key = strip(l), *value = strip(eq + 1);
                if (is_network_key(key)) {
                        if (!network)
                                log_warning("%s:%u: %s belongs in [Network].", path, n, key);
                        r = apply_network(s, path, n, key, value);
                        if (r < 0)
                                break;
                        continue;
                }
                if (network)
                        log_warning("%s:%u: %s belongs in [Daemon].", path, n, key);
                int k = apply(s, key, value);
                if (k == -ENOKEY)
                        log_warning("%s:%u: unknown setting '%s', ignored.", path, n, key);
                else if (k < 0) {
                        r = log_error_errno(k, "%s:%u: invalid value '%s' for %s%s", path, n, value, key,
                                            streq(key, "DefaultCostPolicy") ? " (always or unmetered)" : "");
                        break;
                }
        }
        fclose(f);
        return r;
}
