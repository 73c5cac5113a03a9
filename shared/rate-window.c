/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "rate-window.h"

/* Under this much history the number jumps around too much to be useful. */
#define MIN_HISTORY_USEC 500000ULL
/* Bytes seen up to the newest sample arrived some time before it was reported; only a
 * silence longer than this counts as time without bytes. */
#define REPORT_SLACK_USEC 1000000ULL

static RateSample *sample(RateWindow *w, size_t i) {
        return &w->samples[(w->first + i) % RATE_WINDOW_SAMPLES];
}

void rate_window_reset(RateWindow *w) {
        assert(w);
        w->first = w->n = 0;
}

void rate_window_add(RateWindow *w, uint64_t usec, uint64_t bytes) {
        assert(w);

        if (w->n > 0) {
                const RateSample *newest = sample(w, w->n - 1);

                /* A restart from zero (no range support, a 416 mismatch) or a silence longer
                 * than the window: what came before says nothing about the rate now. */
                if (bytes < newest->bytes || usec < newest->usec || usec - newest->usec > RATE_WINDOW_USEC)
                        rate_window_reset(w);
        }
        if (w->n == RATE_WINDOW_SAMPLES) {
                w->first = (w->first + 1) % RATE_WINDOW_SAMPLES;
                w->n--;
        }
        *sample(w, w->n) = (RateSample) { usec, bytes };
        w->n++;
}

uint64_t rate_window_newest_usec(const RateWindow *w) {
        assert(w);

        return w->n > 0 ? w->samples[(w->first + w->n - 1) % RATE_WINDOW_SAMPLES].usec : 0;
}

double rate_window_get(RateWindow *w, uint64_t now) {
        const RateSample *oldest, *newest;
        uint64_t end;

        assert(w);
        if (w->n == 0)
                return -1;
        newest = sample(w, w->n - 1);
        if (now > newest->usec && now - newest->usec >= RATE_WINDOW_USEC)
                return 0;

        /* Only samples inside the window count. */
        while (w->n > 1 && sample(w, 0)->usec + RATE_WINDOW_USEC < now) {
                w->first = (w->first + 1) % RATE_WINDOW_SAMPLES;
                w->n--;
        }
        oldest = sample(w, 0);
        end = now > newest->usec + REPORT_SLACK_USEC ? now - REPORT_SLACK_USEC : newest->usec;
        if (end <= oldest->usec || end - oldest->usec < MIN_HISTORY_USEC)
                return -1;
        return (double) (newest->bytes - oldest->bytes) * 1e6 / (double) (end - oldest->usec);
}
