/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The data of a job record (manager.h's Job and JobFile), freed the same way whether the
 * manager or the store made it. Runtime parts (transfers, timers) are the manager's. */

#include "manager.h"

JobFile *job_file_free(JobFile *f);
/* Frees every data field and the files, then the Job itself. */
Job *job_record_free(Job *j);
