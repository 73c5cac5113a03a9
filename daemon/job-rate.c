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
        return event_now(j->manager->event, CLOCK_MONOTONIC);
}

/* The window of a transferring job, made when it starts to; NULL when out of memory (Rate is
 * then 0). */
static RateWindow *job_rate_window(Job *j) {
        if (!j->rate) {
                j->rate = malloc(sizeof *j->rate);
                if (j->rate)
                        rate_window_reset(j->rate);
        }
        return j->rate;
}

void job_rate_sample(Job *j) {
        RateWindow *w;
        uint64_t now;

        assert(j);

        if (j->state != JOB_TRANSFERRING || !(w = job_rate_window(j)))
                return;
        now = job_now_monotonic(j);
        if (w->n > 0 && now < rate_window_newest_usec(w) + RATE_SAMPLE_SPACING_USEC)
                return;
        rate_window_add(w, now, job_counts(j).bytes_transferred);
}

void job_rate_reset(Job *j) {
        RateWindow *w;

        assert(j);

        /* A job that stops transferring forgets its window. */
        if (j->state != JOB_TRANSFERRING) {
                j->rate = mfree(j->rate);
                return;
        }
        w = job_rate_window(j);
        if (!w)
                return;
        rate_window_reset(w);
        /* The run starts here: its first sample is where the bytes stand now. */
        rate_window_add(w, job_now_monotonic(j), job_counts(j).bytes_transferred);
}

uint64_t job_rate(const Job *j) {
        double r;

        assert(j);

        if (j->state != JOB_TRANSFERRING || !j->rate)
                return 0;
        /* Reading drops samples that left the window: the window is a cache, not the job's
         * state, so a const job may still age it. */
        r = rate_window_get(j->rate, job_now_monotonic(j));
        return r > 0 ? (uint64_t) r : 0;
}

uint64_t job_expected_end_time(const Job *j) {
        JobCounts c;
        uint64_t rate;

        assert(j);

        rate = job_rate(j);
        c = job_counts(j);
        if (rate == 0 || c.bytes_total == UINT64_MAX || c.bytes_transferred > c.bytes_total)
                return 0;
        return manager_now_realtime(j->manager) + (uint64_t) ((double) (c.bytes_total - c.bytes_transferred) * (double) USEC_PER_SEC / (double) rate);
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
