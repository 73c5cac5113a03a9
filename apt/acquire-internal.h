/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the three parts of an acquire share: acquire.c (from apt's message to a running
 * job), acquire-follow.c (from the job's signals to a verified, completed file) and
 * acquire-reply.c (the answers to apt, and the ways out through Cancel). */

#include <stdarg.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "acquire.h"
#include "failure.h"
#include "file-hash.h"
#include "hashes.h"
#include "util.h"


typedef enum AcquireState {
        ACQUIRE_WAITING,        /* for xferd's first answer */
        ACQUIRE_CREATING,       /* CreateJob */
        ACQUIRE_INTROSPECTING,  /* what this xferd offers (once per run) */
        ACQUIRE_SETTING_UP,     /* one call per step, in order */
        ACQUIRE_RUNNING,        /* Resume sent: following the job's signals */
        ACQUIRE_READING_ERROR,  /* Get ErrorMessage */
        ACQUIRE_LISTING,        /* ListFiles: where the temporary file is */
        ACQUIRE_HASHING,
        ACQUIRE_COMPLETING,
        ACQUIRE_CANCELLING,     /* Cancel; then the answer to apt */
} AcquireState;

typedef enum SetupStep {
        STEP_NONE,
        STEP_HEADERS,
        STEP_FILE,
        STEP_BANDWIDTH,
        STEP_COST_POLICY,
        STEP_RESUME,
} SetupStep;

typedef enum Outcome {
        OUTCOME_NONE,
        OUTCOME_FAIL,           /* 400 URI Failure */
        OUTCOME_IMS_HIT,        /* 201 URI Done with IMS-Hit */
        OUTCOME_SILENT,         /* apt is gone or stopped us: tell it nothing */
} Outcome;

struct Acquire {
        Method *method;
        ListNode node;          /* in method->acquires */

        char *uri;              /* as apt named it: xferd+http://… */
        char *url;              /* what xferd fetches: http://… */
        char *filename;
        char *last_modified;    /* of apt's copy, for If-Modified-Since; NULL if none */
        HashList expected;
        bool have_expected;
        uint64_t maximum_size;  /* 0: none */

        AcquireState state;
        SetupStep step;
        bool checksum_refused;  /* AddFileWithOptions was refused: AddFile and our own check */
        char *job_path;
        bool job_final;         /* acknowledged or cancelled: nothing to cancel */
        sd_bus_slot *call;      /* the one call in flight */
        sd_event_source *timer; /* no progress for Timeout seconds */
        FileHash *hash;

        /* What the job's signals said. */
        char *job_state;
        char *error_name;
        uint64_t bytes_total, bytes_transferred;
        bool started;           /* 200 URI Start sent */
        HashList got;

        Outcome outcome;
        Failure failure;
        char *message;
};

/* acquire.c */
void acquire_free(Acquire *a);
static inline void acquire_freep(Acquire **a) {
        acquire_free(*a);
}
void acquire_touch(Acquire *a);         /* progress: the timeout starts again */

/* acquire-reply.c */
/* Starts a method call whose reply goes to handler; a call still in flight is dropped. */
int acquire_call(Acquire *a, sd_bus_message_handler_t handler, uint64_t timeout, const char *path,
                 const char *iface, const char *member, const char *types, ...);
int acquire_callv(Acquire *a, sd_bus_message_handler_t handler, uint64_t timeout, const char *path,
                  const char *iface, const char *member, const char *types, va_list ap);
const sd_bus_error *acquire_reply_error(sd_bus_message *reply);
void acquire_send_status(Acquire *a, const char *text);
void acquire_send_start(Acquire *a);
void acquire_send_done(Acquire *a);
void acquire_reply_and_free(Acquire *a);
/* Ends the acquire with a->outcome: Cancel first when a job is left, then the answer. */
void acquire_finish(Acquire *a);
void acquire_fail(Acquire *a, const char *reason, bool transient, const char *fmt, ...)
        _printf_(4, 5);
void acquire_fail_call(Acquire *a, const char *what, const sd_bus_error *e, int r);

/* acquire-follow.c */
/* The job reached transferred: check the temporary file, then Complete. */
void acquire_verify(Acquire *a);
