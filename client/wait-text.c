/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "format.h"
#include "util.h"
#include "wait-text.h"

/* Whole seconds until then, rounded up: a retry "in 0s" would already be running. */
static uint64_t seconds_until(uint64_t then, uint64_t now) {
        return then > now ? (then - now + 999999) / 1000000 : 0;
}

/* "retry 3 in 9m12s: …"; network says that a change of the network retries sooner. */
static char *retry_text(const JobStatus *s, uint64_t now, bool network) {
        const char *msg = strempty(s->error_message);
        const char *sep = isempty(msg) ? "" : ": ";
        unsigned n = s->error_count > 0 ? (unsigned) s->error_count : 1;
        char d[FORMAT_DURATION_MAX];
        char *t;
        int r;

        if (!(s->present & JOB_HAS_NEXT_RETRY_TIME))
                /* A daemon that does not say when: only that it will. */
                r = asprintf(&t, "retry %u pending%s%s", n, sep, msg);
        else if (s->next_retry_time > now)
                r = asprintf(&t, "retry %u in %s%s%s%s", n,
                             format_duration(d, seconds_until(s->next_retry_time, now)),
                             network ? " or when the network changes" : "", sep, msg);
        else
                r = asprintf(&t, "retry %u now%s%s", n, sep, msg);
        return r < 0 ? NULL : t;
}

static char *suspended_text(const WaitContext *ctx) {
        char *t;

        if (!ctx || !ctx->id)
                return strdup("suspended");
        return asprintf(&t, "suspended: 'xferctl resume %s' continues it", ctx->id) < 0 ? NULL : t;
}

static char *reason_text(const JobStatus *s, uint64_t now, const WaitContext *ctx) {
        const char *reason = s->wait_reason;
        char *t;
        int r;

        if (streq(reason, "retry-delay") || streq(reason, "no-network"))
                return retry_text(s, now, streq(reason, "no-network"));
        if (streq(reason, "suspended"))
                return suspended_text(ctx);
        if (streq(reason, "max-transfers")) {
                if (ctx && ctx->max_transfers > 0)
                        r = asprintf(&t, "waiting: %u transfer%s running (MaxBackgroundTransfers=%u)",
                                     (unsigned) ctx->max_transfers, ctx->max_transfers == 1 ? "" : "s",
                                     (unsigned) ctx->max_transfers);
                else
                        r = asprintf(&t, "waiting: as many transfers as allowed are running (MaxBackgroundTransfers)");
                return r < 0 ? NULL : t;
        }
        if (streq(reason, "higher-priority"))
                return strdup("waiting: jobs of higher priority go first");
        if (streq(reason, "bandwidth-limit"))
                return strdup("waiting: the bandwidth limit is used up");
        /* A reason newer than this client: its token still says something. */
        return asprintf(&t, "waiting: %s", reason) < 0 ? NULL : t;
}

char *wait_text(const JobStatus *s, uint64_t now_usec, const WaitContext *ctx) {
        if (!s->state || streq(s->state, "transferring"))
                return NULL;
        if ((s->present & JOB_HAS_WAIT_REASON) && !isempty(s->wait_reason))
                return reason_text(s, now_usec, ctx);

        assert(s);

        /* From the state alone. */
        if (streq(s->state, "transient-error"))
                return retry_text(s, now_usec, false);
        if (streq(s->state, "suspended"))
                return suspended_text(ctx);
        if (streq(s->state, "queued") || streq(s->state, "connecting"))
                return strdup(s->state);
        /* transferred, error and the final states end a wait rather than explain one. */
        return NULL;
}

char *wait_text_short(const JobStatus *s, uint64_t now_usec) {
        char d[FORMAT_DURATION_MAX];
        bool retrying;
        char *t;

        assert(s);

        if (!s->state || streq(s->state, "transferring"))
                return strdup("");

        retrying = (s->present & JOB_HAS_WAIT_REASON) && !isempty(s->wait_reason)
                ? streq(s->wait_reason, "retry-delay") || streq(s->wait_reason, "no-network")
                : streq(s->state, "transient-error");
        if (retrying) {
                if ((s->present & JOB_HAS_NEXT_RETRY_TIME) && s->next_retry_time > now_usec)
                        return asprintf(&t, "retry in %s",
                                        format_duration(d, seconds_until(s->next_retry_time, now_usec))) < 0 ? NULL : t;
                return asprintf(&t, "retry %u", s->error_count > 0 ? (unsigned) s->error_count : 1) < 0 ? NULL : t;
        }
        if ((s->present & JOB_HAS_WAIT_REASON) && !isempty(s->wait_reason))
                return strdup(s->wait_reason);
        return strdup("");
}
