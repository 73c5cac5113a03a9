/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the contract's state names mean to a client. */

#include <stdbool.h>

/* acknowledged and cancelled: nothing changes the job any more. */
bool job_state_is_final(const char *state);

/* error and transient-error: the only states with ErrorName and ErrorMessage set. */
bool job_state_has_error(const char *state);

/* States in which the daemon works on the job and so must keep running. */
bool job_state_is_active(const char *state);
