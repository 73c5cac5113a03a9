/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "format.h"
#include "path-util.h"
#include "progress.h"
#include "rate-window.h"
#include "text.h"

/* Plain lines: at most one per this interval unless what the job waits for changes. */
#define PLAIN_INTERVAL_USEC (5ULL * 1000000ULL)

struct Progress {
        FILE *f;
        bool tty;
        bool drawn;             /* a line is on the current terminal line */
        bool have_status;

        JobStatus status;
        char *id;
        WaitContext ctx;
        char *const *names;
        size_t n_names;

        RateWindow window;

        uint64_t last_plain_usec;
        char *last_plain_key;
};

Progress *progress_new(FILE *f, bool tty) {
        Progress *p;

        assert(f);

        p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        p->f = f;
        p->tty = tty;
        p->status = (JobStatus) JOB_STATUS_INIT;
        return p;
}

Progress *progress_free(Progress *p) {
        if (!p)
                return NULL;
        progress_clear(p);
        job_status_done(&p->status);
        free(p->id);
        free(p->last_plain_key);
        return mfree(p);
}

int progress_set_context(Progress *p, const WaitContext *ctx) {
        assert(p);
        assert(ctx);
        if (free_and_strdup(&p->id, ctx->id) < 0)
                return -ENOMEM;
        p->ctx = *ctx;
        p->ctx.id = p->id;
        return 0;
}

void progress_set_files(Progress *p, char *const *names, size_t n) {
        assert(p);
        p->names = names;
        p->n_names = n;
}

static bool transferring(const Progress *p) {
        return streq_ptr(p->status.state, "transferring");
}

static unsigned terminal_columns(FILE *f) {
        struct winsize ws;
        const char *e;

        if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        e = getenv("COLUMNS");
        if (e && atoi(e) > 0)
                return (unsigned) atoi(e);
        return 80;
}

typedef struct Numbers {
        char sizes[2 * FORMAT_BYTES_MAX + 4];   /* "12.3 MiB / 27.0 MiB", or "12.3 MiB" */
        char rate[FORMAT_BYTES_MAX + 2];        /* "1.2 MiB/s", or "" */
        char eta[FORMAT_DURATION_MAX + 8];      /* "ETA 12s", "stalled", or "" */
        char file[64];                          /* "file 2/3", or "" */
        const char *file_name;                  /* NULL when unknown or a single file */
} Numbers;

/* Bytes per second, negative while unknown. */
static double current_rate(Progress *p) {
        if (p->status.present & JOB_HAS_RATE)
                return (double) p->status.rate;
        return rate_window_get(&p->window, now_monotonic_usec());
}

static void format_numbers(Progress *p, Numbers *n) {
        char done[FORMAT_BYTES_MAX], total[FORMAT_BYTES_MAX], speed[FORMAT_BYTES_MAX], eta[FORMAT_DURATION_MAX];
        const JobStatus *s = &p->status;
        bool known = s->bytes_total != UINT64_MAX;
        double r;

        format_bytes(done, s->bytes_transferred);
        if (known)
                snprintf(n->sizes, sizeof n->sizes, "%s / %s", done, format_bytes(total, s->bytes_total));
        else
                snprintf(n->sizes, sizeof n->sizes, "%s", done);
        n->rate[0] = n->eta[0] = n->file[0] = 0;
        n->file_name = NULL;

        if (s->files_total > 1) {
                uint32_t i = job_status_current_file(s);

                snprintf(n->file, sizeof n->file, "file %u/%u", (unsigned) i + 1, (unsigned) s->files_total);
                if (i < p->n_names)
                        n->file_name = p->names[i];
        }

        /* Rate and ETA only mean something while bytes flow. */
        if (!transferring(p))
                return;
        r = current_rate(p);
        if (r < 0)
                return;
        snprintf(n->rate, sizeof n->rate, "%s/s", format_bytes(speed, (uint64_t) r));
        if (!known || s->bytes_transferred >= s->bytes_total)
                return;
        if ((s->present & JOB_HAS_EXPECTED_END_TIME) && s->expected_end_time > 0) {
                uint64_t now = now_realtime_usec();
                uint64_t left = s->expected_end_time > now ? (s->expected_end_time - now + 999999) / 1000000 : 0;

                snprintf(n->eta, sizeof n->eta, "ETA %s", format_duration(eta, left));
        } else if (r >= 1)
                snprintf(n->eta, sizeof n->eta, "ETA %s",
                         format_duration(eta, (uint64_t) ((double) (s->bytes_total - s->bytes_transferred) / r) + 1));
        else
                snprintf(n->eta, sizeof n->eta, "stalled");
}

static char *current_wait_text(Progress *p) {
        return wait_text(&p->status, now_realtime_usec(), &p->ctx);
}

/* "file 2/3: name  " (the name cut to a quarter of the line), or "". */
static char *file_prefix(const Numbers *n, unsigned cols) {
        _cleanup_free_ char *base = NULL, *safe = NULL, *cut = NULL;
        char *t;

        if (!*n->file)
                return strdup("");
        if (!n->file_name)
                return asprintf(&t, "%s  ", n->file) < 0 ? NULL : t;
        base = path_basename(n->file_name);
        safe = base ? text_sanitize(base) : NULL;
        cut = safe ? text_truncate(safe, cols / 4 > 8 ? cols / 4 : 8) : NULL;
        if (!cut)
                return NULL;
        return asprintf(&t, "%s: %s  ", n->file, cut) < 0 ? NULL : t;
}

static void draw_line(Progress *p) {
        _cleanup_free_ char *tail = NULL, *line = NULL, *safe = NULL, *cut = NULL, *wait = NULL, *prefix = NULL;
        const JobStatus *s = &p->status;
        unsigned cols = terminal_columns(p->f);
        char bar[256] = "";
        Numbers n;

        format_numbers(p, &n);
        wait = current_wait_text(p);
        prefix = file_prefix(&n, cols);
        if (!prefix)
                return;

        /* "12.3 MiB / 27.0 MiB  1.2 MiB/s  ETA 12s", or "0 B / 27.0 MiB  retry 2 in 9s: …" */
        if (asprintf(&tail, "%s%s%s%s%s%s%s", n.sizes, *n.rate ? "  " : "", n.rate, *n.eta ? "  " : "", n.eta,
                     wait ? "  " : "", strempty(wait)) < 0)
                return;

        if (s->bytes_total != UINT64_MAX && cols >= 60) {
                /* "[=====>    ]  45%  " — the bar takes a fifth of the line, at most 30. */
                unsigned pct = format_percent(s->bytes_transferred, s->bytes_total);
                unsigned inner = cols / 5 > 30 ? 30 : cols / 5, fill;
                size_t j = 0;

                fill = (unsigned) ((double) inner * pct / 100.0);
                bar[j++] = '[';
                for (unsigned i = 0; i < inner; i++)
                        bar[j++] = i < fill ? '=' : (i == fill ? '>' : ' ');
                bar[j++] = ']';
                snprintf(bar + j, sizeof bar - j, " %3u%%  ", pct);
        }

        if (asprintf(&line, "%s%s%s", prefix, bar, tail) < 0)
                return;
        safe = text_sanitize(line);
        /* Never wrap: a wrapped line cannot be redrawn in place. */
        cut = safe ? text_truncate(safe, cols > 1 ? cols - 1 : 1) : NULL;
        if (!cut)
                return;

        /* \r and "erase to end of line" redraw without flicker. */
        fprintf(p->f, "\r%s\033[K", cut);
        fflush(p->f);
        p->drawn = true;
}

/* "transferring: 12.3 MiB / 27.0 MiB (45%), 1.2 MiB/s, ETA 12s", or
 * "transient-error: 0 B / ?; retry 1 in 5s: HTTP 503 …", after "file 2/3: name: ". */
static void print_plain(Progress *p, uint64_t now) {
        _cleanup_free_ char *line = NULL, *safe = NULL, *wait = NULL, *prefix = NULL;
        const JobStatus *s = &p->status;
        char pct[8] = "";
        Numbers n;

        format_numbers(p, &n);
        wait = current_wait_text(p);
        /* The state leads the line already. */
        if (wait && streq_ptr(wait, s->state)) {
                free(wait);
                wait = NULL;
        }
        prefix = file_prefix(&n, 160);
        if (!prefix)
                return;
        if (s->bytes_total != UINT64_MAX)
                snprintf(pct, sizeof pct, " (%u%%)", format_percent(s->bytes_transferred, s->bytes_total));

        /* The prefix ends in two blanks for the bar; here it reads "file 2/3: name: ". */
        if (*prefix)
                prefix[strlen(prefix) - 2] = 0;
        if (asprintf(&line, "%s%s%s: %s%s%s%s%s%s%s%s", prefix, *prefix ? ": " : "", strempty(s->state), n.sizes, pct,
                     *n.rate ? ", " : "", n.rate, *n.eta ? ", " : "", n.eta, wait ? "; " : "", strempty(wait)) < 0)
                return;
        safe = text_sanitize(line);
        fprintf(p->f, "%s\n", safe ? safe : line);
        fflush(p->f);
        p->last_plain_usec = now;
}

/* What makes a plain line worth printing at once: a new state, reason, error, retry time or
 * file. The countdown itself is not. */
static char *plain_key(const JobStatus *s) {
        char *k;

        if (asprintf(&k, "%s|%s|%s|%llu|%u", strempty(s->state), strempty(s->wait_reason),
                     strempty(s->error_message), (unsigned long long) s->next_retry_time,
                     (unsigned) job_status_current_file(s)) < 0)
                return NULL;
        return k;
}

void progress_update(Progress *p, const JobStatus *s) {
        uint64_t now = now_monotonic_usec();
        _cleanup_free_ char *key = NULL;
        bool was_transferring = transferring(p);

        assert(p);
        assert(s);
        if (job_status_copy(&p->status, s) < 0)
                return;
        p->have_status = true;

        /* Only bytes of the current run count: a queue, a retry or a pause ends the run. */
        if (!transferring(p))
                rate_window_reset(&p->window);
        else {
                if (!was_transferring)
                        rate_window_reset(&p->window);
                rate_window_add(&p->window, now, s->bytes_transferred);
        }

        if (p->tty) {
                draw_line(p);
                return;
        }

        key = plain_key(s);
        if (!key)
                return;
        if (!streq_ptr(key, p->last_plain_key) || p->last_plain_usec == 0 ||
            now - p->last_plain_usec >= PLAIN_INTERVAL_USEC) {
                print_plain(p, now);
                free(p->last_plain_key);
                p->last_plain_key = TAKE_PTR(key);
        }
}

void progress_tick(Progress *p) {
        assert(p);
        if (p->tty && p->have_status)
                draw_line(p);
}

void progress_clear(Progress *p) {
        assert(p);
        if (!p->tty || !p->drawn)
                return;
        fputs("\r\033[K", p->f);
        fflush(p->f);
        p->drawn = false;
}
