/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The writable properties of a job, and its headers. Each change is stored before anyone
 * hears of it; a change the store refuses is undone and the call fails. */
#include <inttypes.h>

#include "http-util.h"
#include "manager-internal.h"
#include "safe-text.h"
#include "proxy.h"
#include "util.h"

int job_check_text(const char *what, const char *s, size_t max, CallError *e) {
        size_t n = strlen(s);

        assert(what);
        assert(s);

        if (n > max)
                return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_STRING_TOO_LONG,
                                      "The %s is %zu bytes long; at most %zu are allowed.", what, n, max);
        /* It is shown on terminals and sent to D-Bus clients as it is. */
        if (!safe_text_is_clean(s))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "The %s contains a control character (or is not valid UTF-8); "
                                      "use printable text only.", what);
        return 0;
}

int job_check_not_final(Job *j, const char *what, CallError *e) {
        assert(j);
        assert(what);

        if (job_state_is_final(j->state))
                return call_error_set(e, -ESTALE, CALL_ERROR_INVALID_STATE,
                                      "Job %s is %s: %s cannot be changed any more.",
                                      j->id, job_state_to_string(j->state), what);
        return 0;
}

static uint64_t headers_bytes(char * const *headers) {
        uint64_t n = 0;

        for (char * const *h = headers; h && *h; h++)
                n += strlen(*h);
        return n;
}

/* The bytes of header lines the owner's other jobs hold (final jobs hold none): a walk of the
 * owner's own jobs. */
static uint64_t owner_headers_bytes(const Job *j) {
        uint64_t n = 0;

        for (const Job *k = manager_first_owned_job(j->manager, j->owner); k; k = job_next_owned(k))
                if (k != j)
                        n += headers_bytes(k->http_headers);
        return n;
}

static int check_headers(Job *j, char * const *headers, CallError *e) {
        const ManagerConfig *c = &j->manager->config;
        size_t n = strv_length(headers);
        uint64_t bytes;

        /* The count first: bus/ reads no more than one header past it. */
        if (n > c->max_http_headers)
                return call_error_set(e, -E2BIG, CALL_ERROR_LIMITS_EXCEEDED,
                                      "A job may have at most %" PRIu32 " extra headers (MaxHttpHeaders= in "
                                      "xferd.conf); more were given.", c->max_http_headers);
        for (char * const *h = headers; h && *h; h++) {
                const char *colon = strchr(*h, ':');
                if (!colon || colon == *h || strpbrk(*h, "\r\n"))
                        return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                              "Each header must look like 'Name: value' on one line.");
                for (const char *p = *h; p < colon; p++)
                        if (*p <= ' ' || *p >= 0x7f)
                                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                                      "A header name may not contain spaces or control characters.");
                if (strlen(*h) > 8192)
                        return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_STRING_TOO_LONG,
                                              "A header may be at most 8192 bytes long.");
        }
        bytes = headers_bytes(headers);
        if (bytes > c->max_http_header_bytes)
                return call_error_set(e, -E2BIG, CALL_ERROR_LIMITS_EXCEEDED,
                                      "The headers of a job may have at most %" PRIu64 " bytes together "
                                      "(MaxHttpHeaderBytes= in xferd.conf); these have %" PRIu64 " or more.",
                                      c->max_http_header_bytes, bytes);
        if (j->owner != 0) {
                uint64_t others = owner_headers_bytes(j);
                if (others + bytes > c->max_http_header_bytes_per_user)
                        return call_error_set(e, -E2BIG, CALL_ERROR_LIMITS_EXCEEDED,
                                              "The headers of all jobs of a user may have at most %" PRIu64 " bytes "
                                              "together (MaxHttpHeaderBytesPerUser= in xferd.conf); the other jobs "
                                              "have %" PRIu64 " and these %" PRIu64 ".",
                                              c->max_http_header_bytes_per_user, others, bytes);
        }
        return 0;
}

size_t job_max_http_headers(const Job *j) {
        assert(j);
        return j->manager->config.max_http_headers;
}

uint64_t job_max_http_header_bytes(const Job *j) {
        assert(j);
        return j->manager->config.max_http_header_bytes;
}

int job_set_http_headers(Job *j, char * const *headers, CallError *e) {
        char **copy, **old;
        int r;

        assert(j);

        r = job_check_not_final(j, "its headers", e);
        if (r < 0)
                return r;
        r = check_headers(j, headers, e);
        if (r < 0)
                return r;
        copy = strv_copy(headers);
        if (!copy)
                return -ENOMEM;
        old = j->http_headers;
        j->http_headers = copy;
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        if (r < 0) {
                j->http_headers = old;
                strv_free(copy);
                return r;
        }
        strv_free(old);
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return 0;
}

static int job_set_string(Job *j, char **field, const char *what, const char *s, size_t max, CallError *e) {
        char *copy, *old;
        int r;

        r = job_check_not_final(j, what, e);
        if (r < 0)
                return r;
        r = job_check_text(what, s, max, e);
        if (r < 0)
                return r;
        if (streq(*field, s))
                return 0;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        old = *field;
        *field = copy;
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        if (r < 0) {
                *field = old;
                free(copy);
                return r;
        }
        free(old);
        manager_notify_changed(j, JOB_CHANGE_TEXT);
        return 0;
}

int job_set_display_name(Job *j, const char *s, CallError *e) {
        assert(j);
        assert(s);
        return job_set_string(j, &j->display_name, "display name", s, JOB_DISPLAY_NAME_MAX, e);
}

int job_set_description(Job *j, const char *s, CallError *e) {
        assert(j);
        assert(s);
        return job_set_string(j, &j->description, "description", s, JOB_DESCRIPTION_MAX, e);
}

/* Sets a plain field (size bytes at field) to value, stores the job and tells the observer.
 * Returns 1 when the value changed, 0 when it was the same already (nothing is stored then),
 * or a negative errno with *e filled and the field as it was. */
static int job_set_field(Job *j, void *field, const void *value, size_t size, const char *what, CallError *e) {
        uint8_t old[sizeof(uint64_t)];
        int r;

        assert(size <= sizeof old);

        r = job_check_not_final(j, what, e);
        if (r < 0)
                return r;
        if (memcmp(field, value, size) == 0)
                return 0;
        memcpy(old, field, size);
        memcpy(field, value, size);
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        if (r < 0) {
                memcpy(field, old, size);
                return r;
        }
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return 1;
}

/* A field whose change needs nothing more than to be stored and told. */
static int job_set_plain_field(Job *j, void *field, const void *value, size_t size, const char *what, CallError *e) {
        int r = job_set_field(j, field, value, size, what, e);
        return r < 0 ? r : 0;
}

int job_set_allow_insecure_redirect(Job *j, bool b, CallError *e) {
        assert(j);
        return job_set_plain_field(j, &j->allow_insecure_redirect, &b, sizeof b, "AllowInsecureRedirect", e);
}

int job_set_no_progress_timeout(Job *j, uint32_t secs, CallError *e) {
        assert(j);
        return job_set_plain_field(j, &j->no_progress_timeout, &secs, sizeof secs, "NoProgressTimeout", e);
}

int job_set_auto_complete(Job *j, bool b, CallError *e) {
        int r;

        assert(j);
        r = job_set_field(j, &j->auto_complete, &b, sizeof b, "AutoComplete", e);
        /* Switched on for a job that is already transferred: complete it now. */
        if (r > 0 && b && j->state == JOB_TRANSFERRED)
                complete_auto_queue(j);
        return r < 0 ? r : 0;
}

int job_set_priority(Job *j, JobPriority p, CallError *e) {
        int r;

        assert(j);
        r = job_set_field(j, &j->priority, &p, sizeof p, "its priority", e);
        if (r > 0) {
                scheduler_job_changed(j);
                scheduler_wake(j->manager);
        }
        return r < 0 ? r : 0;
}

int job_set_bandwidth_limit(Job *j, uint64_t bps, CallError *e) {
        int r;

        assert(j);
        r = job_set_field(j, &j->bandwidth_limit, &bps, sizeof bps, "its bandwidth limit", e);
        if (r > 0)
                scheduler_apply_rates(j->manager);
        return r < 0 ? r : 0;
}

int job_set_proxy(Job *j, const char *proxy, CallError *e) {
        int r = job_check_not_final(j, "its proxy", e);
        if (r < 0)
                return r;
        /* Never quoted back: the value may hold a password. */
        if (!proxy_value_is_valid(proxy))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS, "Proxy %s.", proxy_describe_value);
        if (streq(strempty(j->proxy), proxy))
                return 0;
        r = free_and_strdup(&j->proxy, isempty(proxy) ? NULL : proxy);
        if (r < 0)
                return r;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_minimum_retry_delay(Job *j, uint32_t secs, CallError *e) {
        uint32_t floor;
        int r;

        assert(j);

        floor = j->manager->config.retry_delay_floor;
        r = job_check_not_final(j, "its retry delay", e);
        if (r < 0)
                return r;
        if (secs < floor)
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "MinimumRetryDelay must be at least %" PRIu32 " seconds.", floor);
        return job_set_plain_field(j, &j->minimum_retry_delay, &secs, sizeof secs, "its retry delay", e);
}

int job_set_minimum_notification_interval(Job *j, uint32_t ms, CallError *e) {
        assert(j);
        return job_set_plain_field(j, &j->minimum_notification_interval, &ms, sizeof ms, "its notification interval", e);
}

int job_set_max_concurrent_files(Job *j, uint32_t n, CallError *e) {
        int r;

        assert(j);

        r = job_check_not_final(j, "MaxConcurrentFiles", e);
        if (r < 0)
                return r;
        if (n < 1 || n > JOB_MAX_CONCURRENT_FILES)
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "MaxConcurrentFiles must be between 1 and %d.", JOB_MAX_CONCURRENT_FILES);
        r = job_set_field(j, &j->max_concurrent_files, &n, sizeof n, "MaxConcurrentFiles", e);
        /* More lanes start at once; with fewer, the files in flight finish first. */
        if (r > 0 && j->type == JOB_DOWNLOAD && job_state_is_active(j->state))
                download_start(j);
        return r < 0 ? r : 0;
}

int job_set_cost_policy(Job *j, CostPolicy p, CallError *e) {
        int r;

        assert(j);

        r = job_check_not_final(j, "its cost policy", e);
        if (r < 0)
                return r;
        if (p < 0 || p >= _COST_POLICY_MAX)
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "Unknown cost policy; use always or unmetered.");
        if (j->cost_policy == p)
                return 0;
        j->cost_policy = p;
        scheduler_job_changed(j);
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        /* Now unmetered on a metered network: stop; now always: start, if it waited for that. */
        network_wait_check_job(j);
        return r;
}
