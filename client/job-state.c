/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "job-state.h"
#include "util.h"

bool job_state_is_final(const char *state) {
        return streq_ptr(state, "acknowledged") || streq_ptr(state, "cancelled");
}

bool job_state_has_error(const char *state) {
        return streq_ptr(state, "error") || streq_ptr(state, "transient-error");
}

bool job_state_is_active(const char *state) {
        return streq_ptr(state, "queued") || streq_ptr(state, "connecting") ||
               streq_ptr(state, "transferring") || streq_ptr(state, "transient-error");
}
