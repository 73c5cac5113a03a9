/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acquire-internal.h"
#include "util.h"

/* Cancel answers once the temporary files are gone: quick, unless xferd hangs. */
#define CANCEL_TIMEOUT_USEC (10 * USEC_PER_SEC)

/* ---- talking to apt ----------------------------------------------------------------------- */

static void format_http_date(time_t t, char *buf, size_t size) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
                buf[0] = 0;
}

void acquire_send_status(Acquire *a, const char *text) {
        MessageOut o = { 0 };

        message_out_begin(&o, "102 Status");
        message_out_add(&o, "URI", a->uri);
        message_out_add(&o, "Message", text);
        method_send(a->method, &o);
        free(o.buf);
}

void acquire_send_start(Acquire *a) {
        MessageOut o = { 0 };

        if (a->started)
                return;
        a->started = true;
        message_out_begin(&o, "200 URI Start");
        message_out_add(&o, "URI", a->uri);
        if (a->bytes_total != UINT64_MAX && a->bytes_total > 0)
                message_out_addf(&o, "Size", "%" PRIu64, a->bytes_total);
        method_send(a->method, &o);
        free(o.buf);
}

void acquire_send_done(Acquire *a) {
        MessageOut o = { 0 };
        struct stat st;
        char date[64] = "";

        if (stat(a->filename, &st) == 0)
                format_http_date(st.st_mtime, date, sizeof date);
        acquire_send_start(a);
        message_out_begin(&o, "201 URI Done");
        message_out_add(&o, "URI", a->uri);
        message_out_add(&o, "Filename", a->filename);
        message_out_addf(&o, "Size", "%" PRIu64, a->got.size);
        message_out_add(&o, "Last-Modified", date);
        hash_list_to_message(&a->got, &o);
        method_send(a->method, &o);
        free(o.buf);
}

void acquire_reply_and_free(Acquire *a) {
        MessageOut o = { 0 };

        switch (a->outcome) {
        case OUTCOME_FAIL:
                message_out_begin(&o, "400 URI Failure");
                message_out_add(&o, "URI", a->uri);
                message_out_add(&o, "Message", a->message ? a->message : "xferd failed");
                message_out_add(&o, "FailReason", a->failure.reason);
                if (a->failure.transient)
                        message_out_add(&o, "Transient-Failure", "true");
                /* apt shows what it received next to what it expected. */
                if (streq(a->failure.reason, "HashSumMismatch"))
                        hash_list_to_message(&a->got, &o);
                method_send(a->method, &o);
                break;
        case OUTCOME_IMS_HIT:
                /* As apt's http method: apt's copy is current, a partial file is of no use. */
                if (unlink(a->filename) < 0 && errno != ENOENT)
                        method_debug(a->method, "cannot remove %s: %s", a->filename, strerror(errno));
                message_out_begin(&o, "201 URI Done");
                message_out_add(&o, "URI", a->uri);
                message_out_add(&o, "Filename", a->filename);
                message_out_add(&o, "IMS-Hit", "true");
                message_out_add(&o, "Last-Modified", a->last_modified);
                method_send(a->method, &o);
                break;
        case OUTCOME_NONE:
        case OUTCOME_SILENT:
                break;
        }
        free(o.buf);
        acquire_free(a);
}

/* ---- calls -------------------------------------------------------------------------------- */

int acquire_callv(Acquire *a, sd_bus_message_handler_t handler, uint64_t timeout, const char *path,
                  const char *iface, const char *member, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        sd_bus *bus = xferd_bus(a->method->xferd);
        int r;

        /* One call at a time: a reply still outstanding (Resume's) is no longer of interest. */
        a->call = sd_bus_slot_unref(a->call);
        r = sd_bus_message_new_method_call(bus, &msg, XFERD_BUS_NAME, path, iface, member);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(msg, types, ap);
        if (r < 0)
                return r;
        return sd_bus_call_async(bus, &a->call, msg, handler, a, timeout);
}

int acquire_call(Acquire *a, sd_bus_message_handler_t handler, uint64_t timeout, const char *path,
                 const char *iface, const char *member, const char *types, ...) {
        va_list ap;
        int r;

        assert(a);
        va_start(ap, types);
        r = acquire_callv(a, handler, timeout, path, iface, member, types, ap);
        va_end(ap);
        return r;
}

const sd_bus_error *acquire_reply_error(sd_bus_message *reply) {
        return sd_bus_message_is_method_error(reply, NULL) ? sd_bus_message_get_error(reply) : NULL;
}

/* ---- the ways out ------------------------------------------------------------------------- */

static int on_cancelled(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);

        a->call = sd_bus_slot_unref(a->call);
        if (e)
                method_debug(a->method, "Cancel of %s: %s", a->job_path, e->message);
        acquire_reply_and_free(a);
        return 0;
}

void acquire_finish(Acquire *a) {
        int r;

        assert(a);
        a->hash = file_hash_free(a->hash);
        (void) sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
        if (a->state == ACQUIRE_CREATING || a->state == ACQUIRE_CANCELLING)
                return;  /* on_created cancels the job it hears of; a Cancel is on its way */
        if (!a->job_path || a->job_final) {
                acquire_reply_and_free(a);
                return;
        }
        a->state = ACQUIRE_CANCELLING;
        r = acquire_call(a, on_cancelled, CANCEL_TIMEOUT_USEC, a->job_path, XFERD_JOB_IFACE, "Cancel", NULL);
        if (r < 0) {
                method_debug(a->method, "cannot cancel %s: %s", a->job_path, strerror(-r));
                acquire_reply_and_free(a);
        }
}

void acquire_fail(Acquire *a, const char *reason, bool transient, const char *fmt, ...) {
        va_list ap;

        assert(a);
        if (a->outcome != OUTCOME_NONE)
                return;
        a->outcome = OUTCOME_FAIL;
        snprintf(a->failure.reason, sizeof a->failure.reason, "%s", reason);
        a->failure.transient = transient;
        va_start(ap, fmt);
        if (vasprintf(&a->message, fmt, ap) < 0)
                a->message = NULL;
        va_end(ap);
        acquire_finish(a);
}

void acquire_fail_call(Acquire *a, const char *what, const sd_bus_error *e, int r) {
        /* xferd busy with too many jobs, or gone: apt may well succeed later. */
        bool transient = sd_bus_error_has_name(e, "org.xferd.Transfer1.Error.TooManyJobs") ||
                         (e && failure_is_unavailable(e->name));

        acquire_fail(a, "XferdError", transient, "xferd: %s: %s", what, e ? strempty(e->message) : strerror(-r));
}
