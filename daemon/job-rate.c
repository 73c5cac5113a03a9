/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's Rate and ExpectedEndTime, from a window of byte counts that holds only the current
 * run of transferring (reset whenever the job starts or stops transferring, so a sample from
 * before a pause, a queue or a retry never counts); and the other numbers a watcher reads:
 * NextRetryTime, CurrentFile. */
#include "manager-internal.h"
#include "util.h"

/* Samples this far apart: 64 of them cover 16 s, more than the window. */
#define RATE_SAMPLE_SPACING_USEC (250 * USEC_PER_MSEC)

static uint64_t job_now_monotonic(const Job *j) {
        uint64_t t;

        if (sd_event_now(manager_get_event(j->manager), CLOCK_MONOTONIC, &t) < 0)
                t = now_monotonic_usec();
        return t;
}

void job_rate_sample(Job *j) {
        uint64_t now;

        assert(j);

        if (j->state != JOB_TRANSFERRING)
                return;
        now = job_now_monotonic(j);
        if (j->rate.n > 0 && now < rate_window_newest_usec(&j->rate) + RATE_SAMPLE_SPACING_USEC)
                return;
        rate_window_add(&j->rate, now, job_bytes_transferred(j));
}

void job_rate_reset(Job *j) {
        assert(j);

        rate_window_reset(&j->rate);
        /* The run starts here: its first sample is where the bytes stand now. */
        if (j->state == JOB_TRANSFERRING)
                rate_window_add(&j->rate, job_now_monotonic(j), job_bytes_transferred(j));
}

uint64_t job_rate(const Job *j) {
        double r;

        assert(j);

        if (j->state != JOB_TRANSFERRING)
                return 0;
        /* Reading drops samples that left the window: the window is a cache, not the job's
         * state, so a const job may still age it. */
        r = rate_window_get((RateWindow *) &j->rate, job_now_monotonic(j));
        return r > 0 ? (uint64_t) r : 0;
}

uint64_t job_expected_end_time(const Job *j) {
        uint64_t rate, total, done;

        assert(j);

        rate = job_rate(j);
        total = job_bytes_total(j);
        done = job_bytes_transferred(j);
        if (rate == 0 || total == UINT64_MAX || done > total)
                return 0;
        return manager_now_realtime(j->manager) + (uint64_t) ((double) (total - done) * (double) USEC_PER_SEC / (double) rate);
}

uint64_t job_next_retry_time(const Job *j) {
        assert(j);

        return j->state == JOB_TRANSIENT_ERROR ? j->retry_time : 0;
}

uint32_t job_current_file(const Job *j) {
        assert(j);

        if (j->n_files == 0)
                return 0;
        return (uint32_t) (j->current < j->n_files ? j->current : j->n_files - 1);
}
