/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acquire-internal.h"
#include "util.h"

Acquire *acquire_first(const Method *m) {
        assert(m);
        return LIST_ENTRY(m->acquires.head, Acquire, node);
}

Acquire *acquire_next(const Acquire *a) {
        assert(a);
        return LIST_ENTRY(a->node.next, Acquire, node);
}

bool acquire_owns_job(const Acquire *a, const char *path) {
        assert(a);
        return a->job_path && path && streq(a->job_path, path);
}

#define OWNER_OPTION "cancel-when-owner-gone"

void acquire_free(Acquire *a) {
        Method *m;

        if (!a)
                return;
        m = a->method;
        list_remove(&m->acquires, &a->node);
        sd_bus_slot_unref(a->call);
        sd_event_source_disable_unref(a->timer);
        file_hash_free(a->hash);
        free(a->uri);
        free(a->url);
        free(a->filename);
        free(a->last_modified);
        free(a->job_path);
        free(a->job_state);
        free(a->error_name);
        free(a->message);
        free(a);
        method_acquire_gone(m);
}

/* ---- the timeout -------------------------------------------------------------------------- */

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Acquire *a = userdata;

        acquire_fail(a, "Timeout", true,
                     "No progress from xferd for %" PRIu64 " s (job %s); Acquire::xferd::Timeout or "
                     "Acquire::http::Timeout sets how long to wait",
                     a->method->settings.timeout_usec / USEC_PER_SEC,
                     a->job_state ? a->job_state : a->job_path ? "being set up" : "not created yet");
        return 0;
}

void acquire_touch(Acquire *a) {
        if (!a->timer)
                return;
        (void) sd_event_source_set_time_relative(a->timer, a->method->settings.timeout_usec);
        (void) sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
}

/* ---- from apt's message ------------------------------------------------------------------- */

static bool is_http_date(const char *s) {
        struct tm tm = { 0 };
        const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);

        return end && *end == 0;
}

/* A message that names the URI but cannot be carried out. */
static void refuse(Method *m, const char *uri, const char *why) {
        MessageOut o = { 0 };

        message_out_begin(&o, "400 URI Failure");
        message_out_add(&o, "URI", uri);
        message_out_add(&o, "Message", why);
        message_out_add(&o, "FailReason", "XferdBadRequest");
        method_send(m, &o);
        free(o.buf);
}

int acquire_new(Method *m, const Message *msg, Acquire **ret) {
        const char *uri, *filename, *v;
        _cleanup_(acquire_freep) Acquire *a = NULL;
        HashList expected;
        int r;

        assert(m);
        assert(msg);
        assert(ret);

        *ret = NULL;
        uri = message_get(msg, "URI");
        filename = message_get(msg, "Filename");
        if (isempty(uri)) {
                method_debug(m, "600 URI Acquire without a URI: ignored");
                return 0;
        }
        /* xferd+http://host/path → http://host/path; xferd speaks http and https only. */
        if (strncmp(uri, "xferd+http://", 13) != 0 && strncmp(uri, "xferd+https://", 14) != 0) {
                refuse(m, uri, "Not an xferd+http or xferd+https URI");
                return 0;
        }
        if (isempty(filename) || filename[0] != '/') {
                refuse(m, uri, "The acquire names no absolute Filename");
                return 0;
        }
        if (hash_list_from_acquire(&expected, msg) < 0) {
                refuse(m, uri, "An Expected- hash field is malformed");
                return 0;
        }

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->method = m;
        a->expected = expected;
        a->bytes_total = UINT64_MAX;
        a->have_expected = expected.have_size;
        for (HashType t = 0; t < _HASH_MAX; t++)
                a->have_expected = a->have_expected || expected.hex[t][0];
        a->maximum_size = expected.have_size ? expected.size : 0;
        v = message_get(msg, "Maximum-Size");
        if (!a->maximum_size && v)
                a->maximum_size = strtoull(v, NULL, 10);
        a->uri = strdup(uri);
        a->url = strdup(uri + strlen("xferd+"));
        a->filename = strdup(filename);
        v = message_get(msg, "Last-Modified");
        if (v && is_http_date(v))
                a->last_modified = strdup(v);
        /* At the end of the list: answers keep apt's order where they can. */
        list_append(&m->acquires, &a->node);
        if (!a->uri || !a->url || !a->filename || (v && is_http_date(v) && !a->last_modified))
                return -ENOMEM;
        r = sd_event_add_time_relative(m->event, &a->timer, CLOCK_MONOTONIC, m->settings.timeout_usec, 0,
                                       on_timeout, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(a->timer, "acquire-timeout");
        *ret = TAKE_PTR(a);
        return 0;
}

/* ---- xferd not there ---------------------------------------------------------------------- */

void acquire_unavailable(Acquire *a, const char *why) {
        MessageOut o = { 0 };

        assert(a);
        if (a->state != ACQUIRE_WAITING || a->outcome != OUTCOME_NONE)
                return;
        if (!a->method->settings.fallback) {
                acquire_fail(a, "XferdUnavailable", false, "%s", why);
                return;
        }
        /* apt's own mechanism: it queues the plain http(s) URI for its own method. */
        method_debug(a->method, "%s; handing %s to apt's own method", why, a->uri);
        message_out_begin(&o, "103 Redirect");
        message_out_add(&o, "URI", a->uri);
        message_out_add(&o, "New-URI", a->url);
        method_send(a->method, &o);
        free(o.buf);
        a->outcome = OUTCOME_SILENT;
        acquire_free(a);
}

void acquire_abandon(Acquire *a) {
        assert(a);

        if (a->outcome == OUTCOME_NONE || a->outcome == OUTCOME_FAIL || a->outcome == OUTCOME_IMS_HIT)
                a->outcome = OUTCOME_SILENT;
        acquire_finish(a);
}

/* ---- creating and setting up the job ------------------------------------------------------ */

static void setup_next(Acquire *a);

static int on_setup_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);

        a->call = sd_bus_slot_unref(a->call);
        if (!e) {
                if (a->step != STEP_RESUME)
                        setup_next(a);
                return 0;
        }
        if (a->step == STEP_FILE && !a->checksum_refused &&
            (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) ||
             sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))) {
                /* This xferd does not take our checksum: the method checks the file itself. */
                method_debug(a->method, "xferd refused the checksum (%s); checking it here", strempty(e->message));
                a->checksum_refused = true;
                a->step = STEP_HEADERS;
                setup_next(a);
                return 0;
        }
        acquire_fail_call(a, a->step == STEP_FILE ? "adding the file" :
                             a->step == STEP_RESUME ? "starting the job" : "setting up the job", e, 0);
        return 0;
}

static int job_setup_call(Acquire *a, const char *iface, const char *member, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = acquire_callv(a, on_setup_reply, a->method->settings.timeout_usec, a->job_path, iface, member, types, ap);
        va_end(ap);
        return r;
}

static int add_file(Acquire *a) {
        const XferdFeatures *f = xferd_features(a->method->xferd);
        char checksum[HASH_HEX_MAX + 16];
        const char *sum = hash_list_checksum(&a->expected, checksum, sizeof checksum);
        bool size = a->expected.have_size;

        if (!f->add_file_with_options || a->checksum_refused || (!sum && !size))
                return job_setup_call(a, XFERD_JOB_IFACE, "AddFile", "ss", a->url, a->filename);
        /* xferd verifies while it writes and never completes a wrong file. */
        if (sum && size)
                return job_setup_call(a, XFERD_JOB_IFACE, "AddFileWithOptions", "ssa{sv}", a->url, a->filename, 2,
                                      "checksum", "s", sum, "size", "t", a->expected.size);
        if (sum)
                return job_setup_call(a, XFERD_JOB_IFACE, "AddFileWithOptions", "ssa{sv}", a->url, a->filename, 1,
                                      "checksum", "s", sum);
        return job_setup_call(a, XFERD_JOB_IFACE, "AddFileWithOptions", "ssa{sv}", a->url, a->filename, 1,
                              "size", "t", a->expected.size);
}

/* The next setup call that applies, in a fixed order; Resume last. */
static void setup_next(Acquire *a) {
        const Settings *s = &a->method->settings;
        const XferdFeatures *f = xferd_features(a->method->xferd);
        const char *props = "org.freedesktop.DBus.Properties";
        char header[128];
        int r = 0;

        a->state = ACQUIRE_SETTING_UP;
        for (bool called = false; !called;) {
                called = true;
                switch (++a->step) {
                case STEP_NONE:
                        called = false;
                        break;
                case STEP_HEADERS:
                        called = a->last_modified != NULL;
                        if (!called)
                                break;
                        snprintf(header, sizeof header, "If-Modified-Since: %s", a->last_modified);
                        r = job_setup_call(a, XFERD_JOB_IFACE, "SetHttpHeaders", "as", 1, header);
                        break;
                case STEP_FILE:
                        r = add_file(a);
                        break;
                case STEP_BANDWIDTH:
                        called = s->bandwidth_limit > 0;
                        if (called)
                                r = job_setup_call(a, props, "Set", "ssv", XFERD_JOB_IFACE, "BandwidthLimit", "t",
                                                   s->bandwidth_limit);
                        break;
                case STEP_COST_POLICY:
                        called = s->cost_policy && f->cost_policy;
                        if (called)
                                r = job_setup_call(a, props, "Set", "ssv", XFERD_JOB_IFACE, "CostPolicy", "s",
                                                   s->cost_policy);
                        break;
                case STEP_RESUME:
                        /* Its changes may come before its reply: follow them from now on. */
                        a->state = ACQUIRE_RUNNING;
                        r = job_setup_call(a, XFERD_JOB_IFACE, "Resume", NULL);
                        break;
                }
        }
        if (r < 0)
                acquire_fail_call(a, "setting up the job", NULL, r);
}

static int on_introspected(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        XferdFeatures *f = xferd_features(a->method->xferd);
        const char *xml = NULL;

        a->call = sd_bus_slot_unref(a->call);
        if (acquire_reply_error(reply) || sd_bus_message_read(reply, "s", &xml) < 0)
                xml = "";
        xferd_features_from_xml(f, xml);
        method_debug(a->method, "xferd offers: AddFileWithOptions %s, CostPolicy %s, CancelWhenOwnerGone %s",
                     f->add_file_with_options ? "yes" : "no", f->cost_policy ? "yes" : "no",
                     f->cancel_when_owner_gone ? "yes" : "no");
        a->step = STEP_NONE;
        setup_next(a);
        return 0;
}

static int on_created(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);
        const char *id, *path;
        int r;

        a->call = sd_bus_slot_unref(a->call);
        a->state = ACQUIRE_SETTING_UP;
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) && strstr(strempty(e->message), OWNER_OPTION) &&
            a->outcome == OUTCOME_NONE) {
                /* An xferd from before CancelWhenOwnerGone: the method's own Cancel on the way
                 * out is all there is. */
                method_debug(a->method, "xferd has no %s: a killed method leaves its jobs", OWNER_OPTION);
                xferd_features(a->method->xferd)->owner_option_refused = true;
                a->state = ACQUIRE_WAITING;
                acquire_start(a);
                return 0;
        }
        r = e ? -EIO : sd_bus_message_read(reply, "so", &id, &path);
        if (r >= 0 && !(a->job_path = strdup(path)))
                r = -ENOMEM;
        if (r < 0) {
                a->state = ACQUIRE_WAITING;  /* no job to cancel */
                if (a->outcome != OUTCOME_NONE)
                        acquire_reply_and_free(a);
                else
                        acquire_fail_call(a, "creating a job", e, r);
                return 0;
        }
        method_debug(a->method, "%s: job %s", a->uri, id);

        if (a->outcome != OUTCOME_NONE) {
                acquire_finish(a);  /* stopped or timed out meanwhile */
                return 0;
        }
        if (!xferd_features(a->method->xferd)->known) {
                a->state = ACQUIRE_INTROSPECTING;
                r = acquire_call(a, on_introspected, a->method->settings.timeout_usec, a->job_path,
                                 "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
                if (r < 0)
                        acquire_fail_call(a, "introspecting the job", NULL, r);
                return 0;
        }
        a->step = STEP_NONE;
        setup_next(a);
        return 0;
}

void acquire_start(Acquire *a) {
        const Settings *s;
        const char *base;
        char name[200];
        int r;

        assert(a);
        if (a->state != ACQUIRE_WAITING || a->outcome != OUTCOME_NONE)
                return;
        s = &a->method->settings;
        base = strrchr(a->url, '/');
        snprintf(name, sizeof name, "apt: %s", base && base[1] ? base + 1 : a->url);

        a->state = ACQUIRE_CREATING;
        /* Bound to this process's connection: should the method die without cancelling
         * (SIGKILL), xferd cancels the job itself. */
        if (xferd_features(a->method->xferd)->owner_option_refused)
                r = acquire_call(a, on_created, s->timeout_usec, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                 "CreateJob", "sa{sv}", name, 2, "priority", "s", s->priority, "description", "s",
                                 a->uri);
        else
                r = acquire_call(a, on_created, s->timeout_usec, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                 "CreateJob", "sa{sv}", name, 3, "priority", "s", s->priority, "description", "s",
                                 a->uri, OWNER_OPTION, "b", true);
        if (r < 0) {
                a->state = ACQUIRE_WAITING;
                acquire_fail_call(a, "creating a job", NULL, r);
        }
}
