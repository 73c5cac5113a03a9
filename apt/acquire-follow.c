/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acquire-internal.h"
#include "bus-dict.h"
#include "listed-file.h"
#include "util.h"

/* ---- the job's properties ----------------------------------------------------------------- */

/* The properties the acquire follows. */
static const BusDictField property_fields[] = {
        { "State",            BUS_VALUE_STRING, offsetof(Acquire, job_state) },
        { "ErrorName",        BUS_VALUE_STRING, offsetof(Acquire, error_name) },
        { "BytesTotal",       BUS_VALUE_U64,    offsetof(Acquire, bytes_total) },
        { "BytesTransferred", BUS_VALUE_U64,    offsetof(Acquire, bytes_transferred) },
};

/* Reads the a{sv} of PropertiesChanged or GetAll: the properties the acquire follows. Returns
 * whether any of them changed. */
static int read_properties(Acquire *a, sd_bus_message *m, bool *ret_changed) {
        int r;

        r = bus_dict_read_fields(m, property_fields, ELEMENTSOF(property_fields), a);
        if (r < 0)
                return r;
        *ret_changed = r > 0;
        return 0;
}

static int on_error_message(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const char *message = NULL;
        Failure f;

        a->call = sd_bus_slot_unref(a->call);
        if (acquire_reply_error(reply) || sd_bus_message_read(reply, "v", "s", &message) < 0)
                message = NULL;
        failure_from_xferd(a->error_name, message, &f);
        if (f.kind == FAILURE_NOT_MODIFIED) {
                /* 304 to our If-Modified-Since: apt's copy is current. */
                a->outcome = OUTCOME_IMS_HIT;
                acquire_finish(a);
                return 0;
        }
        acquire_fail(a, f.reason, f.transient, "%s", isempty(message) ? strempty(a->error_name) : message);
        return 0;
}

/* An error, or a transient error that xferd would retry in MinimumRetryDelay: apt has retry
 * rules of its own and a user waiting, so the acquire ends here and apt decides. */
static void read_error(Acquire *a) {
        int r;

        a->state = ACQUIRE_READING_ERROR;
        r = acquire_call(a, on_error_message, a->method->settings.timeout_usec, a->job_path,
                         "org.freedesktop.DBus.Properties", "Get", "ss", XFERD_JOB_IFACE, "ErrorMessage");
        if (r < 0)
                acquire_fail_call(a, "reading the job's error", NULL, r);
}

static void apply(Acquire *a) {
        const char *s = strempty(a->job_state);

        if (a->maximum_size > 0 &&
            ((a->bytes_total != UINT64_MAX && a->bytes_total > a->maximum_size) ||
             a->bytes_transferred > a->maximum_size)) {
                acquire_fail(a, "MaximumSizeExceeded", false, "The file is larger than apt expects (more than %" PRIu64
                             " bytes)", a->maximum_size);
                return;
        }
        if (streq(s, "queued"))
                acquire_send_status(a, "Queued in xferd");
        else if (streq(s, "connecting"))
                acquire_send_status(a, "Connecting (xferd)");
        else if (streq(s, "suspended"))
                acquire_send_status(a, "Suspended in xferd");
        else if (streq(s, "transferring") && a->bytes_transferred > 0)
                /* Only once bytes come: an error status (a 404, a 304) starts nothing. */
                acquire_send_start(a);
        else if (streq(s, "transferred"))
                acquire_verify(a);
        else if (streq(s, "error") || streq(s, "transient-error"))
                read_error(a);
        else if (streq(s, "cancelled") || streq(s, "acknowledged")) {
                a->job_final = true;
                acquire_fail(a, "XferdJobEnded", false, "Someone else %s the xferd job %s",
                             streq(s, "cancelled") ? "cancelled" : "completed", a->job_path);
        }
}

void acquire_job_changed(Acquire *a, sd_bus_message *m) {
        const char *iface;
        bool changed = false;
        int r;

        assert(a);
        assert(m);

        /* Before Resume only our own settings change; after the file is in, nothing matters. */
        if (a->state != ACQUIRE_RUNNING)
                return;
        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || !streq(iface, XFERD_JOB_IFACE))
                return;
        r = read_properties(a, m, &changed);
        if (r < 0) {
                acquire_fail_call(a, "reading the job's change", NULL, r);
                return;
        }
        if (!changed)
                return;
        acquire_touch(a);
        apply(a);
}

static int on_refreshed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);
        bool changed;
        int r;

        a->call = sd_bus_slot_unref(a->call);
        r = e ? -EIO : read_properties(a, reply, &changed);
        if (r < 0) {
                acquire_fail_call(a, "reading the job after xferd restarted", e, r);
                return 0;
        }
        apply(a);
        return 0;
}

void acquire_refresh(Acquire *a) {
        int r;

        assert(a);
        if (a->state != ACQUIRE_RUNNING)
                return;
        r = acquire_call(a, on_refreshed, a->method->settings.timeout_usec, a->job_path,
                         "org.freedesktop.DBus.Properties", "GetAll", "s", XFERD_JOB_IFACE);
        if (r < 0)
                acquire_fail_call(a, "reading the job after xferd restarted", NULL, r);
}

/* ---- the file ----------------------------------------------------------------------------- */

static int on_completed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);

        a->call = sd_bus_slot_unref(a->call);
        if (e) {
                acquire_fail_call(a, "completing the job", e, 0);
                return 0;
        }
        a->job_final = true;
        acquire_send_done(a);
        acquire_free(a);
        return 0;
}

static void on_hashed(FileHash *h, int r, const HashList *got, void *userdata) {
        Acquire *a = userdata;

        a->hash = file_hash_free(a->hash);
        if (r < 0) {
                acquire_fail(a, "XferdLocalFile", false, "Cannot hash xferd's temporary file: %s", strerror(-r));
                return;
        }
        a->got = *got;
        /* xferd may have checked it already; apt checks again. Only a verified file is
         * completed into Filename. */
        if (a->have_expected && !hash_list_matches(&a->expected, &a->got)) {
                acquire_fail(a, "HashSumMismatch", false, "Hash Sum mismatch");
                return;
        }
        a->state = ACQUIRE_COMPLETING;
        r = acquire_call(a, on_completed, a->method->settings.timeout_usec, a->job_path, XFERD_JOB_IFACE,
                         "Complete", NULL);
        if (r < 0)
                acquire_fail_call(a, "completing the job", NULL, r);
}

static int on_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const sd_bus_error *e = acquire_reply_error(reply);
        ListedFile f;
        int r, fd;

        a->call = sd_bus_slot_unref(a->call);
        r = e ? -EIO : listed_file_enter(reply);
        if (r >= 0)
                r = listed_file_next(reply, &f);
        if (r <= 0) {
                acquire_fail_call(a, "listing the job's file", e, r < 0 ? r : -ENOENT);
                return 0;
        }
        /* The temporary file is ours (the job's owner's), 0600 until Complete. */
        fd = open(f.temporary_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                acquire_fail(a, "XferdLocalFile", false, "Cannot read xferd's temporary file %s: %s", f.temporary_path,
                             strerror(errno));
                return 0;
        }
        a->state = ACQUIRE_HASHING;
        r = file_hash_start(&a->hash, a->method->event, fd,
                            a->have_expected ? hash_list_wanted(&a->expected) : hash_list_wanted(&(HashList) { 0 }),
                            on_hashed, a);
        if (r < 0)
                acquire_fail(a, "XferdLocalFile", false, "Cannot hash xferd's temporary file: %s", strerror(-r));
        return 0;
}

void acquire_verify(Acquire *a) {
        int r;

        assert(a);
        acquire_send_start(a);
        /* Local work from here on: the transfer's timeout no longer applies. */
        (void) sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
        a->state = ACQUIRE_LISTING;
        r = acquire_call(a, on_listed, a->method->settings.timeout_usec, a->job_path, XFERD_JOB_IFACE,
                         "ListFiles", NULL);
        if (r < 0)
                acquire_fail_call(a, "listing the job's file", NULL, r);
}
