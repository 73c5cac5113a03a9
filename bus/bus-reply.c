/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies: an array built by a callback; and those that come later: Cancel and Complete. */
#include "bus-errors.h"
#include "heap-huge.h"
#include "bus.h"
#include "log.h"

int bus_reply_array(sd_bus_message *m, const char *contents, bus_append_t append, void *userdata) {
        return bus_reply_array_large(NULL, m, contents, 0, append, userdata);
}

/* Once every queued message has gone out, the large reply's body is freed: its memory goes
 * back to the system, wherever in the heap it ended. */
static int on_large_reply_sent(sd_event_source *s, void *userdata) {
        Bus *b = userdata;
        uint64_t n = 0;

        if (sd_bus_get_n_queued_write(b->bus, &n) >= 0 && n > 0)
                return 0;
        heap_huge_give_back();
        b->large_reply_sent = sd_event_source_disable_unref(b->large_reply_sent);
        return 0;
}

typedef struct ArrayBuild {
        sd_bus_message *reply;
        const char *contents;
        bus_append_t append;
        void *userdata;
} ArrayBuild;

static int build_array(void *userdata) {
        ArrayBuild *a = userdata;
        int r;

        r = sd_bus_message_open_container(a->reply, 'a', a->contents);
        if (r >= 0)
                r = a->append(a->reply, a->userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(a->reply);
        return r;
}

/* A reply of many megabytes (ListJobs of 100 000 jobs: 17 MB) would be a mapping of its own,
 * faulted in 4 KiB at a time on every call (4 100 faults, about half the call's CPU) and
 * unmapped after. Its body grows instead in a stretch of huge pages the core's heap-huge.c
 * prepares, and the memory goes back once the bus has sent it. */
int bus_reply_array_large(Bus *b, sd_bus_message *m, const char *contents, size_t bytes, bus_append_t append,
                          void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool stretched;
        int r;

        assert(b || bytes == 0);
        assert(m);
        assert(contents);
        assert(append);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = heap_huge_run(bytes, build_array, &(ArrayBuild) { reply, contents, append, userdata }, &stretched);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, reply, NULL);
        if (r >= 0 && stretched && !b->large_reply_sent &&
            sd_event_add_post(sd_bus_get_event(b->bus), &b->large_reply_sent, on_large_reply_sent, b) < 0)
                b->large_reply_sent = NULL;
        return r;
}

/* Cancel and Complete reply once their file operations are done (on worker threads of the
 * core): the message is kept until then, and other calls are served meanwhile. */
typedef struct PendingReply {
        JobCall call;
        sd_bus_message *message;
        bool complete;          /* replies (b partial) */
} PendingReply;

static void pending_reply_done(JobCall *c) {
        PendingReply *p = (PendingReply *) c;
        int r;

        if (c->r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                (void) bus_error_from_call(&error, c->r, &c->e);
                r = sd_bus_reply_method_error(p->message, &error);
        } else if (p->complete)
                r = sd_bus_reply_method_return(p->message, "b", (int) c->partial);
        else
                r = sd_bus_reply_method_return(p->message, NULL);
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
