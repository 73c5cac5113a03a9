/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The replies of a batch of Download calls (manager_batch_begin()): kept until the batch is
 * committed and announced, then sent in order; every other call closes the batch first. */
#include "bus-errors.h"
#include "bus.h"
#include "log.h"

struct BusBatch {
        sd_bus_message **calls;         /* the calls waiting, in order */
        sd_bus_message **replies;       /* … and their replies, made when the call ran */
        size_t n, allocated;
        sd_bus_slot *filter;
};

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

int bus_batch_new(Bus *b, BusBatch **ret) {
        BusBatch *q;
        int r;

        assert(b);
        assert(ret);

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        r = sd_bus_add_filter(b->bus, &q->filter, on_filter, b);
        if (r < 0) {
                free(q);
                return r;
        }
        *ret = q;
        return 0;
}

BusBatch *bus_batch_free(BusBatch *q) {
        if (!q)
                return NULL;
        for (size_t i = 0; i < q->n; i++) {
                sd_bus_message_unref(q->calls[i]);
                sd_bus_message_unref(q->replies[i]);
        }
        free(q->calls);
        free(q->replies);
        sd_bus_slot_unref(q->filter);
        free(q);
        return NULL;
}

int bus_batch_keep(Bus *b, sd_bus_message *call, sd_bus_message *reply) {
        BusBatch *q = b->batch;

        assert(q);
        assert(call);
        assert(reply);

        if (q->n == q->allocated) {
                size_t k = q->allocated ? q->allocated * 2 : BATCH_MAX_CALLS;
                sd_bus_message **c = reallocarray(q->calls, k, sizeof *c);
                if (!c)
                        return -ENOMEM;
                q->calls = c;
                sd_bus_message **p = reallocarray(q->replies, k, sizeof *p);
                if (!p)
                        return -ENOMEM;
                q->replies = p;
                q->allocated = k;
        }
        q->calls[q->n] = sd_bus_message_ref(call);
        q->replies[q->n] = sd_bus_message_ref(reply);
        q->n++;
        return 1;
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
                        k = sd_bus_send(b->bus, q->replies[i], NULL);
                else {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        (void) bus_error_from_call(&error, r, e);
                        k = sd_bus_reply_method_error(q->calls[i], &error);
                }
                if (k < 0)
                        log_debug_errno(k, "Cannot send the reply of Download");
                sd_bus_message_unref(q->calls[i]);
                sd_bus_message_unref(q->replies[i]);
        }
}
