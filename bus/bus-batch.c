/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The replies of a batch of Download calls (manager_batch_begin()): kept until the batch is
 * committed and announced, then sent in order; every other call closes the batch first. While
 * a batch is open, the calls already waiting on the connection are read and handled in the
 * same iteration of the loop (a burst). */
#include "bus-errors.h"
#include "bus-out.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

typedef struct BatchedCall {
        sd_bus_message *call;
        char id[sizeof ((Job *) NULL)->id];     /* of the job it made: the reply's */
} BatchedCall;

struct BusBatch {
        BatchedCall *calls;             /* waiting, in order */
        size_t n, allocated;
        sd_bus_slot *filter;
        sd_event_source *burst;         /* reads on while the batch is open */
};

static void batched_call_done(BatchedCall *c) {
        sd_bus_message_unref(c->call);
}

static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Bus *b = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        uint8_t type = 0;

        /* What any other call reads or changes must be stored (and told) before it runs. */
        if (sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_CALL &&
            !sd_bus_message_is_method_call(m, XFERD_MANAGER_IFACE, "Download"))
                (void) manager_batch_close(b->manager, &e);
        return 0;
}

static void bus_batch_freep(BusBatch **q) {
        bus_batch_free(*q);
}

int bus_batch_new(Bus *b, BusBatch **ret) {
        _cleanup_(bus_batch_freep) BusBatch *q = NULL;
        int r;

        assert(b);
        assert(ret);

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        r = sd_bus_add_filter(b->bus, &q->filter, on_filter, b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

BusBatch *bus_batch_free(BusBatch *q) {
        if (!q)
                return NULL;
        for (size_t i = 0; i < q->n; i++)
                batched_call_done(&q->calls[i]);
        free(q->calls);
        sd_bus_slot_unref(q->filter);
        sd_event_source_disable_unref(q->burst);
        return mfree(q);
}

/* The next calls of a batch, read and handled in this iteration of the loop: one iteration a
 * call cost each Download an epoll_wait() and sd-event's round of every source. It stops when
 * nothing more is waiting, when the batch is closed (it is full, or a call other than
 * Download closed it: that call's own signals go out before the next call is read, by the
 * loop's order), and after BATCH_MAX_CALLS messages, so that other sources wait for at most
 * one batch. When nothing more is waiting, the batch is closed here: waiting for the loop's
 * idle round to close it cost every batch two more iterations of the loop (epoll_wait() and
 * sd-event's round), as much as the batch's calls when few arrive together. */
static int on_burst(sd_event_source *s, void *userdata) {
        Bus *b = userdata;

        for (unsigned n = 0; n < BATCH_MAX_CALLS && b->batch->n > 0; n++) {
                int r = sd_bus_process(b->bus, NULL);
                if (r <= 0) {
                        CallError e = { .kind = CALL_ERROR_NONE };

                        /* Nothing is waiting: no burst until the next call is kept. */
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        if (r < 0)
                                log_debug_errno(r, "Cannot read the next call of a batch");
                        (void) manager_batch_close(b->manager, &e);
                        break;
                }
        }
        return 0;
}

int bus_batch_keep(Bus *b, sd_bus_message *call, const Job *j) {
        BusBatch *q = b->batch;
        int r;

        assert(q);
        assert(call);
        assert(j);

        r = array_reserve((void **) &q->calls, &q->allocated, q->n + 1, sizeof *q->calls);
        if (r < 0)
                return r;
        q->calls[q->n] = (BatchedCall) { .call = sd_bus_message_ref(call) };
        memcpy(q->calls[q->n].id, j->id, sizeof j->id);
        q->n++;
        if (!q->burst && sd_bus_get_event(b->bus) &&
            sd_event_add_defer(sd_bus_get_event(b->bus), &q->burst, on_burst, b) >= 0) {
                (void) sd_event_source_set_priority(q->burst, MANAGER_CALL_PRIORITY);
                (void) sd_event_source_set_description(q->burst, "batch-burst");
        }
        if (q->burst)
                (void) sd_event_source_set_enabled(q->burst, SD_EVENT_ONESHOT);
        return 1;
}

/* Download's reply (s id, o job) through sd-bus. */
static int build_reply(sd_bus_message *call, const char *id, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = bus_append_known_text(reply, id, NULL);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', bus_job_path_of(id).s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

/* The reply whole into the batch's buffer (bus-out.h); -ENOBUFS when it does not go there. */
static int out_reply(Bus *b, sd_bus_message *call, const char *id) {
        BusJobPath path = bus_job_path_of(id);
        static const BusOutField signature[] = { { BUS_OUT_FIELD_SIGNATURE, 'g', "so", 0 } };
        static BusOutFixed fixed = BUS_OUT_FIXED(signature);
        BusRows w;
        int r;

        r = bus_out_begin_return(b, call, &fixed, 16 + strlen(id) + strlen(path.s), &w);
        if (r < 0)
                return r;
        wire_text(&w, id);
        wire_text(&w, path.s);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_reply(call, id, &m) < 0)
                        abort();
                bus_out_check_last(b, "Download's reply", m);
        }
        return 0;
}

static int send_reply(Bus *b, sd_bus_message *call, const char *id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        /* As sd-bus: no reply to a call that asked for none. */
        if (!sd_bus_message_get_expect_reply(call))
                return 0;
        if (out_reply(b, call, id) >= 0)
                return 0;
        bus_out_flush(b);
        r = build_reply(call, id, &reply);
        return r < 0 ? r : sd_bus_send(b->bus, reply, NULL);
}

void bus_batch_closed(Bus *b, int r, const CallError *e) {
        BusBatch *q = b->batch;
        size_t n;

        if (!q)
                return;
        n = q->n;
        q->n = 0;
        for (size_t i = 0; i < n; i++) {
                int k;
                if (r >= 0)
                        k = send_reply(b, q->calls[i].call, q->calls[i].id);
                else {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        (void) bus_error_from_call(&error, r, e);
                        bus_out_flush(b);
                        k = sd_bus_reply_method_error(q->calls[i].call, &error);
                }
                if (k < 0)
                        log_debug_errno(k, "Cannot send the reply of Download");
                batched_call_done(&q->calls[i]);
        }
        /* The batch's signals and replies, in one write. */
        bus_out_flush(b);
}
