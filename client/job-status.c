/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "bus-dict.h"
#include "job-status.h"
#include "names.h"
#include "util.h"

void job_status_done(JobStatus *s) {
        assert(s);

        free(s->state);
        free(s->error_name);
        free(s->error_message);
        free(s->wait_reason);
        *s = (JobStatus) JOB_STATUS_INIT;
}

int job_status_copy(JobStatus *dst, const JobStatus *src) {
        JobStatus copy = *src;

        assert(dst);
        assert(src);
        copy.state = copy.error_name = copy.error_message = copy.wait_reason = NULL;
        if (free_and_strdup(&copy.state, src->state) < 0 ||
            free_and_strdup(&copy.error_name, src->error_name) < 0 ||
            free_and_strdup(&copy.error_message, src->error_message) < 0 ||
            free_and_strdup(&copy.wait_reason, src->wait_reason) < 0) {
                job_status_done(&copy);
                return -ENOMEM;
        }
        job_status_done(dst);
        *dst = copy;
        return 0;
}

uint32_t job_status_current_file(const JobStatus *s) {
        assert(s);

        uint32_t i = (s->present & JOB_HAS_CURRENT_FILE) ? s->current_file : s->files_transferred;

        return s->files_total > 0 && i >= s->files_total ? s->files_total - 1 : i;
}

typedef struct Field {
        const char *name;
        BusValueKind kind;
        size_t offset;
        JobField field;
        JobProperty property;   /* 0: every daemon has it */
} Field;

static const Field fields[] = {
        { "State",             BUS_VALUE_STRING, offsetof(JobStatus, state),             JOB_FIELD_STATE,    0 },
        { "ErrorName",         BUS_VALUE_STRING, offsetof(JobStatus, error_name),        JOB_FIELD_ERROR,    0 },
        { "ErrorMessage",      BUS_VALUE_STRING, offsetof(JobStatus, error_message),     JOB_FIELD_ERROR,    0 },
        { "ErrorCount",        BUS_VALUE_U32,    offsetof(JobStatus, error_count),       JOB_FIELD_ERROR,    0 },
        { "BytesTotal",        BUS_VALUE_U64,    offsetof(JobStatus, bytes_total),       JOB_FIELD_PROGRESS, 0 },
        { "BytesTransferred",  BUS_VALUE_U64,    offsetof(JobStatus, bytes_transferred), JOB_FIELD_PROGRESS, 0 },
        { "FilesTotal",        BUS_VALUE_U32,    offsetof(JobStatus, files_total),       JOB_FIELD_PROGRESS, 0 },
        { "FilesTransferred",  BUS_VALUE_U32,    offsetof(JobStatus, files_transferred), JOB_FIELD_PROGRESS, 0 },
        { "Rate",              BUS_VALUE_U64,    offsetof(JobStatus, rate),              JOB_FIELD_PROGRESS, JOB_HAS_RATE },
        { "ExpectedEndTime",   BUS_VALUE_U64,    offsetof(JobStatus, expected_end_time), JOB_FIELD_PROGRESS, JOB_HAS_EXPECTED_END_TIME },
        { "CurrentFile",       BUS_VALUE_U32,    offsetof(JobStatus, current_file),      JOB_FIELD_PROGRESS, JOB_HAS_CURRENT_FILE },
        { "NextRetryTime",     BUS_VALUE_U64,    offsetof(JobStatus, next_retry_time),   JOB_FIELD_WAIT,     JOB_HAS_NEXT_RETRY_TIME },
        { "WaitReason",        BUS_VALUE_STRING, offsetof(JobStatus, wait_reason),       JOB_FIELD_WAIT,     JOB_HAS_WAIT_REASON },
};

static const Field *field_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(fields[i].name, name))
                        return &fields[i];
        return NULL;
}

typedef struct StatusRead {
        JobStatus *status;
        unsigned changed;
} StatusRead;

static int status_entry(sd_bus_message *m, const char *name, void *userdata) {
        StatusRead *d = userdata;
        const Field *f = field_find(name);
        int r;

        if (!f) {
                d->changed |= JOB_FIELD_OTHER;
                return 0;
        }
        r = bus_dict_read_value(m, f->kind, (char *) d->status + f->offset);
        if (r < 0)
                return r;
        if (r > 0)
                d->changed |= f->field;
        d->status->present |= f->property;
        return 0;
}

int job_status_read_dict(JobStatus *s, sd_bus_message *m, unsigned *ret_changed) {
        StatusRead d = { s, 0 };
        int r;

        assert(s);
        assert(m);

        r = bus_dict_read(m, status_entry, &d);
        if (r < 0)
                return r;
        if (ret_changed)
                *ret_changed = d.changed;
        return 0;
}

int job_status_read_changed(JobStatus *s, sd_bus_message *m, unsigned *ret_changed, unsigned *ret_invalidated) {
        unsigned invalidated = 0;
        const char *iface, *name;
        int r;

        assert(s);
        assert(m);

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0)
                return r;
        if (!streq(iface, XFERD_JOB_IFACE))
                return 0;

        r = job_status_read_dict(s, m, ret_changed);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &name)) > 0) {
                const Field *f = field_find(name);
                invalidated |= f ? f->field : JOB_FIELD_OTHER;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (ret_invalidated)
                *ret_invalidated = invalidated;
        return 1;
}
