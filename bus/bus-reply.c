/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies: an array built by a callback; and those that come later: Cancel and Complete. And
 * the strings of replies and signals that need no check. */
#include <inttypes.h>
#include <stdlib.h>

#include "bus-errors.h"
#include "bus-out.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

/* sd_bus_message_append_basic() checks the UTF-8 of every string, a character at a time: about a
 * tenth of what building a Download's four messages cost went into checking property and
 * interface names, tokens and ids. */
int bus_append_known_text(sd_bus_message *m, const char *s, char **ret) {
        const char *t = strempty(s);    /* a table's NULL for a value it lacks, as sd-bus takes it */
        size_t n = strlen(t);
        char *p;
        int r;

        assert(m);

        r = sd_bus_message_append_string_space(m, n, &p);
        if (r < 0)
                return r;
        memcpy(p, t, n);
        if (ret)
                *ret = p;
        return 0;
}

/* dbus-daemon's default max_message_size, and what its header may need of it. */
#define BUS_MESSAGE_LIMIT ((size_t) 32 * 1024 * 1024)
#define BUS_HEADER_ROOM ((size_t) 4096)

size_t bus_message_max(void) {
        static size_t max;

        if (max == 0) {
                const char *t = getenv("XFERD_TEST_MESSAGE_MAX_BYTES");
                long long v = t ? atoll(t) : 0;
                size_t limit = v > (long long) BUS_HEADER_ROOM ? (size_t) v : BUS_MESSAGE_LIMIT;

                max = limit - BUS_HEADER_ROOM;
        }
        return max;
}

/* More messages than a burst of signals leaves waiting once the socket's buffer is full. */
#define BUS_QUEUED_MAX 64

/* A large array (ListJobs of 100 000 jobs: 17 MB) is appended as any other: its append
 * callback tells heap-huge.c where the body is, which prepares the body's mappings as it grows. */
int bus_reply_array(sd_bus_message *m, const char *contents, bus_append_t append, void *userdata,
                    sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t queued = 0;
        int r;

        assert(m);
        assert(contents);
        assert(append);

        /* dbus-daemon stops reading a connection once max_incoming_bytes of its messages wait at
         * receivers: a client that leaves its replies unread does that to xferd. Every reply then
         * waits in sd-bus's queue, in xferd's heap; an array (ListJobs, a job's files) is refused
         * meanwhile, so that calls repeated by the hundred cannot grow the heap by their replies. */
        if (sd_bus_get_n_queued_write(sd_bus_message_get_bus(m), &queued) >= 0 && queued > BUS_QUEUED_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "The bus is not reading xferd's messages now (%" PRIu64 " wait to be "
                                         "sent); try again later.",
                                         queued);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', contents);
        if (r >= 0)
                r = append(reply, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r == -E2BIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "The reply would be larger than the %zu bytes one message on the bus "
                                         "may carry; list fewer at a time (one user's jobs, ListJobsCompact).",
                                         bus_message_max());
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Cancel and Complete reply once their file operations are done (on worker threads of the
 * core): the message is kept until then, and other calls are served meanwhile. */
typedef struct PendingReply {
        JobCall call;
        Bus *bus;
        sd_bus_message *message;
        bool complete;          /* replies (b partial) */
} PendingReply;

static int build_reply(sd_bus_message *call, bool complete, bool partial, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0 && complete)
                r = sd_bus_message_append(reply, "b", (int) partial);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

/* The reply whole into the buffer of the signals before it (a Cancel's, bus-out.h) when it is
 * open; -ENOBUFS otherwise. */
static int out_reply(Bus *b, sd_bus_message *call, bool complete, bool partial) {
        static const BusOutField signature[] = { { BUS_OUT_FIELD_SIGNATURE, 'g', "b", 0 } };
        static BusOutFixed fixed_b = BUS_OUT_FIXED(signature), fixed_none = { 0 };
        BusRows w;
        int r;

        if (!bus_out_is_open(b))
                return -ENOBUFS;
        r = bus_out_begin_return(b, call, complete ? &fixed_b : &fixed_none, 4, &w);
        if (r < 0)
                return r;
        if (complete)
                bus_rows_u32(&w, partial ? 1 : 0);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_reply(call, complete, partial, &m) < 0)
                        abort();
                bus_out_check_last(b, complete ? "Complete's reply" : "Cancel's reply", m);
        }
        return 0;
}

static void pending_reply_done(JobCall *c) {
        PendingReply *p = (PendingReply *) c;
        int r;

        /* As sd-bus: no reply to a call that asked for none. */
        if (c->r >= 0 && (!sd_bus_message_get_expect_reply(p->message) ||
                          out_reply(p->bus, p->message, p->complete, c->partial) >= 0)) {
                sd_bus_message_unref(p->message);
                free(p);
                return;
        }
        /* Through sd-bus: after what the buffer holds. */
        bus_out_flush(p->bus);
        if (c->r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                (void) bus_error_from_call(&error, c->r, &c->e);
                r = sd_bus_reply_method_error(p->message, &error);
        } else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = build_reply(p->message, p->complete, c->partial, &reply);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
        }
        if (r < 0)
                log_debug_errno(r, "Cannot send the reply of %s", p->complete ? "Complete" : "Cancel");
        sd_bus_message_unref(p->message);
        free(p);
}

int bus_reply_later(sd_bus_message *m, Job *j, bool complete, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        PendingReply *p;
        int r;

        assert(m);
        assert(j);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->call.done = pending_reply_done;
        p->bus = manager_get_observer_userdata(j->manager);
        p->complete = complete;
        p->message = sd_bus_message_ref(m);
        r = complete ? job_complete(j, &p->call, &e) : job_cancel(j, &p->call, &e);
        if (r > 0)
                return 1;  /* pending_reply_done() replies */
        sd_bus_message_unref(p->message);
        free(p);
        if (r < 0)
                return bus_error_from_call(error, r, &e);
        return complete ? sd_bus_reply_method_return(m, "b", 0) : sd_bus_reply_method_return(m, NULL);
}
