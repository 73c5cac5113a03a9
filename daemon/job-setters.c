/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The writable properties of a job. */
#include <inttypes.h>

#include "http-util.h"
#include "manager-internal.h"
#include "util.h"

int job_check_text(const char *what, const char *s, size_t max, CallError *e) {
        size_t n = strlen(s);

        assert(what);
        assert(s);

        if (n > max)
                return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_STRING_TOO_LONG,
                                      "The %s is %zu bytes long; at most %zu are allowed.", what, n, max);
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

int job_set_http_headers(Job *j, char * const *headers, CallError *e) {
        char **copy;
        int r;

        assert(j);

        r = job_check_not_final(j, "its headers", e);
        if (r < 0)
                return r;
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
        copy = strv_copy(headers);
        if (!copy)
                return -ENOMEM;
        strv_free(j->http_headers);
        j->http_headers = copy;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

static int job_set_string(Job *j, char **field, const char *what, const char *s, size_t max, CallError *e) {
        int r;

        r = job_check_not_final(j, what, e);
        if (r < 0)
                return r;
        r = job_check_text(what, s, max, e);
        if (r < 0)
                return r;
        if (streq(*field, s))
                return 0;
        r = free_and_strdup(field, s);
        if (r < 0)
                return r;
        manager_notify_changed(j, JOB_CHANGE_TEXT);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_display_name(Job *j, const char *s, CallError *e) {
        assert(j);
        assert(s);

        return job_set_string(j, &j->display_name, "display name", s, DISPLAY_NAME_MAX, e);
}

int job_set_description(Job *j, const char *s, CallError *e) {
        assert(j);
        assert(s);

        return job_set_string(j, &j->description, "description", s, DESCRIPTION_MAX, e);
}

/* A setting changed on a job that may still change: told, and stored through the state
 * machine's MODIFY event. */
static int job_setting_changed(Job *j, CallError *e) {
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_allow_insecure_redirect(Job *j, bool v, CallError *e) {
        int r;

        assert(j);

        r = job_check_not_final(j, "AllowInsecureRedirect", e);
        if (r < 0)
                return r;
        if (j->allow_insecure_redirect == v)
                return 0;
        j->allow_insecure_redirect = v;
        return job_setting_changed(j, e);
}

int job_set_no_progress_timeout(Job *j, uint32_t v, CallError *e) {
        int r;

        assert(j);

        r = job_check_not_final(j, "NoProgressTimeout", e);
        if (r < 0)
                return r;
        if (j->no_progress_timeout == v)
                return 0;
        j->no_progress_timeout = v;
        return job_setting_changed(j, e);
}

int job_set_auto_complete(Job *j, bool b, CallError *e) {
        assert(j);

        int r = job_check_not_final(j, "AutoComplete", e);
        if (r < 0)
                return r;
        if (j->auto_complete == b)
                return 0;
        j->auto_complete = b;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        /* Switched on for a job that is already transferred: complete it now. */
        if (r >= 0 && b && j->state == JOB_TRANSFERRED)
                complete_auto_queue(j);
        return r;
}

int job_set_priority(Job *j, JobPriority p, CallError *e) {
        assert(j);

        int r = job_check_not_final(j, "its priority", e);
        if (r < 0)
                return r;
        if (j->priority == p)
                return 0;
        j->priority = p;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        scheduler_wake(j->manager);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_bandwidth_limit(Job *j, uint64_t bps, CallError *e) {
        assert(j);

        int r = job_check_not_final(j, "its bandwidth limit", e);
        if (r < 0)
                return r;
        if (j->bandwidth_limit == bps)
                return 0;
        j->bandwidth_limit = bps;
        scheduler_apply_rates(j->manager);
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_minimum_retry_delay(Job *j, uint32_t secs, CallError *e) {
        uint32_t floor = j->manager->config.retry_delay_floor;
        int r;

        assert(j);

        r = job_check_not_final(j, "its retry delay", e);
        if (r < 0)
                return r;
        if (secs < floor)
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "MinimumRetryDelay must be at least %" PRIu32 " seconds.", floor);
        if (j->minimum_retry_delay == secs)
                return 0;
        j->minimum_retry_delay = secs;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}

int job_set_minimum_notification_interval(Job *j, uint32_t ms, CallError *e) {
        int r;

        assert(j);

        r = job_check_not_final(j, "its notification interval", e);
        if (r < 0)
                return r;
        if (j->minimum_notification_interval == ms)
                return 0;
        j->minimum_notification_interval = ms;
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return job_apply(j, JOB_EVENT_MODIFY, e);
}
