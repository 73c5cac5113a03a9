/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What counts as progress (see progress-rule.h). */
#include <assert.h>

#include "progress-rule.h"

void progress_meter_reset(ProgressMeter *m, uint64_t now, uint64_t received) {
        assert(m);

        *m = (ProgressMeter) { .window_start = now, .window_bytes = received };
}

bool progress_meter_update(ProgressMeter *m, uint64_t now, uint64_t received) {
        assert(m);

        if (received < m->window_bytes || now < m->window_start) {
                /* A count or a clock that went back: start over, nothing is proven. */
                progress_meter_reset(m, now, received);
                return false;
        }
        if (received - m->window_bytes >= PROGRESS_MIN_BYTES) {
                progress_meter_reset(m, now, received);
                return true;
        }
        if (now - m->window_start >= PROGRESS_WINDOW_USEC)
                progress_meter_reset(m, now, received);
        return false;
}

long progress_low_speed_limit(uint64_t max_speed) {
        uint64_t window_sec = PROGRESS_WINDOW_USEC / 1000000ULL;
        uint64_t limit = (PROGRESS_MIN_BYTES + window_sec - 1) / window_sec;

        if (max_speed > 0 && max_speed / 2 < limit)
                limit = max_speed / 2;
        return limit > 0 ? (long) limit : 1;
}
