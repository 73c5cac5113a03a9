/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The job state machine of the D-Bus contract, as pure logic: no I/O, no bus, no clock.
 * The manager feeds it events and performs the actions it returns, in a fixed order. */

#include <stdbool.h>
#include <stdint.h>

/* Values are BITS's BG_JOB_STATE numbers. */
typedef enum JobState {
        JOB_QUEUED = 0,
        JOB_CONNECTING = 1,
        JOB_TRANSFERRING = 2,
        JOB_SUSPENDED = 3,
        JOB_ERROR = 4,
        JOB_TRANSIENT_ERROR = 5,
        JOB_TRANSFERRED = 6,
        JOB_ACKNOWLEDGED = 7,
        JOB_CANCELLED = 8,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -1,
} JobState;

typedef enum JobType {
        JOB_DOWNLOAD,
        JOB_UPLOAD,
        _JOB_TYPE_MAX,
        _JOB_TYPE_INVALID = -1,
} JobType;

/* Ordered: a lower value is served first. */
typedef enum JobPriority {
        JOB_PRIORITY_FOREGROUND,
        JOB_PRIORITY_HIGH,
        JOB_PRIORITY_NORMAL,
        JOB_PRIORITY_LOW,
        _JOB_PRIORITY_MAX,
        _JOB_PRIORITY_INVALID = -1,
} JobPriority;

typedef enum JobEvent {
        JOB_EVENT_RESUME,           /* Job.Resume() */
        JOB_EVENT_SUSPEND,          /* Job.Suspend() */
        JOB_EVENT_CANCEL,           /* Job.Cancel() */
        JOB_EVENT_COMPLETE,         /* Job.Complete(), or auto-complete */
        JOB_EVENT_ADD_FILES,        /* Job.AddFile()/AddFiles() */
        JOB_EVENT_MODIFY,           /* a property write or SetHttpHeaders */
        JOB_EVENT_START,            /* the scheduler gives the job a transfer slot */
        JOB_EVENT_RESPONSE,         /* the response status line arrived */
        JOB_EVENT_ALL_DONE,         /* the last file finished */
        JOB_EVENT_FAIL_TRANSIENT,   /* network trouble, 5xx, 408, 429, stall, disk full */
        JOB_EVENT_FAIL_FATAL,       /* other 4xx, local file error, refused redirect */
        JOB_EVENT_RETRY_DUE,        /* the retry delay ran out */
        JOB_EVENT_NO_PROGRESS,      /* NoProgressTimeout ran out */
        JOB_EVENT_PREEMPT,          /* the scheduler takes the slot back */
        JOB_EVENT_RECOVER,          /* the daemon starts again with a stored job */
        JOB_EVENT_COMPLETE_FAILED,  /* auto-complete could not move a file into place */
        _JOB_EVENT_MAX,
} JobEvent;

/* What the manager must do after a transition, in this order of bits. */
typedef enum JobAction {
        JOB_ACTION_STOP_TRANSFER       = 1u << 0,  /* remove the easy handle before the next byte */
        JOB_ACTION_DISARM_RETRY        = 1u << 1,
        JOB_ACTION_COMMIT_FILES        = 1u << 2,  /* rename finished files, unlink the rest */
        JOB_ACTION_UNLINK_TEMPORARIES  = 1u << 3,  /* unlink every temporary file */
        JOB_ACTION_ARM_RETRY           = 1u << 4,
        JOB_ACTION_SCHEDULE            = 1u << 5,  /* the scheduler should look again */
        JOB_ACTION_START_TRANSFER      = 1u << 6,
        JOB_ACTION_RECORD_ERROR        = 1u << 7,  /* keep ErrorName/ErrorMessage, count it */
        JOB_ACTION_CLEAR_ERROR         = 1u << 8,  /* on every way out of error and transient-error */
        JOB_ACTION_EMIT_FAILED         = 1u << 9,
        JOB_ACTION_EMIT_TRANSFERRED    = 1u << 10,
        JOB_ACTION_AUTO_COMPLETE       = 1u << 11,
        JOB_ACTION_RETIRE              = 1u << 12, /* final: leave the queue, JobRemoved */
} JobAction;

/* The facts the machine needs that are not the state itself. */
typedef struct JobContext {
        JobType type;
        bool has_files;
        bool auto_complete;
        bool no_progress_timeout_zero;  /* NoProgressTimeout = 0: a transient failure is fatal */
} JobContext;

typedef struct JobTransition {
        JobState state;        /* the state after the event */
        unsigned actions;      /* JobAction bits */
} JobTransition;

/* Returns 0 and fills *ret, or:
 *   -ESTALE   the job is final (contract: InvalidState)
 *   -EBUSY    the event is not allowed in this state (InvalidState)
 *   -ENODATA  Resume of a job without files (Empty)
 *   -EINVAL   an event that cannot happen in this state (internal: the manager ignores it) */
int job_transition(JobState state, JobEvent event, const JobContext *ctx, JobTransition *ret);

bool job_state_is_final(JobState s);
bool job_state_is_active(JobState s);   /* connecting or transferring: a transfer runs */
/* Whether the store must learn of a change from one state to another: not when a restart
 * would bring both back as the same state (queued, connecting and transferring all come
 * back queued). */
bool job_state_change_is_durable(JobState from, JobState to);

const char *job_state_to_string(JobState s);
JobState job_state_from_string(const char *s);
const char *job_type_to_string(JobType t);
JobType job_type_from_string(const char *s);
const char *job_priority_to_string(JobPriority p);
JobPriority job_priority_from_string(const char *s);
const char *job_event_to_string(JobEvent e);
