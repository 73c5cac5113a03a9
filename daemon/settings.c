/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
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
        r = parse_u64(buf, UINT64_MAX / factor, &n);
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
                r = parse_u64(buf, 100, &p);
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
                { "MaxForegroundTransfersPerUser", UNIT_COUNT, 1024 },
        };
        uint64_t v;
        size_t i;
        int r;

        r = apply_word(s, key, value);
        if (r != -ENOKEY)
                return r;
        for (i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].key, key))
                        break;
        if (i == ELEMENTSOF(keys))
                return apply_special(s, key, value);
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
        case 14: m->max_foreground_transfers_per_user = (uint32_t) v; break;
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
                r = parse_u64(value, 86400, &v);
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
