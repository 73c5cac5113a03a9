/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "progress.h"
#include "text.h"

/* The rate is measured over this window: long enough to be steady, short enough to follow
 * a change of speed. */
#define RATE_WINDOW_USEC (5ULL * 1000000ULL)
#define N_SAMPLES 64
/* Plain lines: at most one per this interval unless the state changes. */
#define PLAIN_INTERVAL_USEC (5ULL * 1000000ULL)

typedef struct Sample {
        uint64_t usec;
        uint64_t bytes;
} Sample;

struct Progress {
        FILE *f;
        bool tty;
        bool drawn;             /* a bar is on the current terminal line */

        char *state;
        char *note;
        uint64_t done;
        uint64_t total;

        Sample samples[N_SAMPLES];
        size_t first, n;

        uint64_t last_plain_usec;
        char *last_plain_state;
        char *last_plain_note;
};

Progress *progress_new(FILE *f, bool tty) {
        Progress *p = calloc(1, sizeof *p);

        assert(f);

        if (!p)
                return NULL;
        p->f = f;
        p->tty = tty;
        p->total = UINT64_MAX;
        return p;
}

Progress *progress_free(Progress *p) {
        if (!p)
                return NULL;
        progress_clear(p);
        free(p->state);
        free(p->note);
        free(p->last_plain_state);
        free(p->last_plain_note);
        free(p);
        return NULL;
}

static void samples_add(Progress *p, uint64_t usec, uint64_t bytes) {
        /* A restart from zero (retry without range support, 416 mismatch) makes old samples
         * meaningless. */
        if (p->n > 0 && bytes < p->samples[(p->first + p->n - 1) % N_SAMPLES].bytes)
                p->n = 0;

        if (p->n == N_SAMPLES) {
                p->first = (p->first + 1) % N_SAMPLES;
                p->n--;
        }
        p->samples[(p->first + p->n) % N_SAMPLES] = (Sample) { usec, bytes };
        p->n++;
}

/* Bytes per second over the window ending now, or a negative value while unknown. */
static double rate(Progress *p, uint64_t now) {
        const Sample *oldest, *newest;

        /* Drop samples that fell out of the window, but keep one to measure from. */
        while (p->n > 1) {
                const Sample *second = &p->samples[(p->first + 1) % N_SAMPLES];
                if (now - second->usec < RATE_WINDOW_USEC)
                        break;
                p->first = (p->first + 1) % N_SAMPLES;
                p->n--;
        }
        if (p->n < 2)
                return -1;

        oldest = &p->samples[p->first];
        newest = &p->samples[(p->first + p->n - 1) % N_SAMPLES];
        /* Under half a second of history the number jumps around too much to be useful. */
        if (now - oldest->usec < 500000)
                return -1;
        return (double) (newest->bytes - oldest->bytes) * 1e6 / (double) (now - oldest->usec);
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
} Numbers;

static void format_numbers(Progress *p, uint64_t now, Numbers *n) {
        char done[FORMAT_BYTES_MAX], total[FORMAT_BYTES_MAX], speed[FORMAT_BYTES_MAX], eta[FORMAT_DURATION_MAX];
        double r = rate(p, now);
        bool known = p->total != UINT64_MAX;

        format_bytes(done, p->done);
        if (known)
                snprintf(n->sizes, sizeof n->sizes, "%s / %s", done, format_bytes(total, p->total));
        else
                snprintf(n->sizes, sizeof n->sizes, "%s", done);
        n->rate[0] = n->eta[0] = 0;

        /* Rate and ETA only mean something while bytes flow. */
        if (!streq_ptr(p->state, "transferring") || r < 0)
                return;

        snprintf(n->rate, sizeof n->rate, "%s/s", format_bytes(speed, (uint64_t) r));
        if (!known || p->done >= p->total)
                return;
        if (r >= 1)
                snprintf(n->eta, sizeof n->eta, "ETA %s",
                         format_duration(eta, (uint64_t) ((double) (p->total - p->done) / r) + 1));
        else
                snprintf(n->eta, sizeof n->eta, "stalled");
}

static void draw_bar(Progress *p, uint64_t now) {
        _cleanup_free_ char *tail = NULL, *cut = NULL;
        char bar[256] = "";
        unsigned cols = terminal_columns(p->f), width;
        bool known = p->total != UINT64_MAX;
        Numbers n;

        format_numbers(p, now, &n);

        /* "12.3 MiB / 27.0 MiB  1.2 MiB/s  ETA 12s"; the state is shown when it is not the
         * plain "transferring", a note (the error of a retry) after it. */
        if (asprintf(&tail, "%s%s%s%s%s%s%s%s%s",
                     n.sizes,
                     *n.rate ? "  " : "", n.rate,
                     *n.eta ? "  " : "", n.eta,
                     streq_ptr(p->state, "transferring") ? "" : "  ",
                     streq_ptr(p->state, "transferring") ? "" : strempty(p->state),
                     p->note ? ": " : "",
                     strempty(p->note)) < 0)
                return;

        if (known && cols >= 40) {
                /* "[=====>    ] 45%  " — the bar takes a third of the line, at most 40. */
                unsigned pct = format_percent(p->done, p->total);
                unsigned inner = cols / 3 > 40 ? 40 : cols / 3, fill;
                size_t j = 0;

                fill = (unsigned) ((double) inner * pct / 100.0);
                bar[j++] = '[';
                for (unsigned i = 0; i < inner; i++)
                        bar[j++] = i < fill ? '=' : (i == fill ? '>' : ' ');
                bar[j++] = ']';
                snprintf(bar + j, sizeof bar - j, " %3u%%  ", pct);
        }

        /* Never wrap: a wrapped line cannot be redrawn in place. */
        width = cols - 1 > strlen(bar) ? cols - 1 - (unsigned) strlen(bar) : 0;
        {
                _cleanup_free_ char *safe = text_sanitize(tail);
                if (!safe)
                        return;
                cut = text_truncate(safe, width);
        }
        if (!cut)
                return;

        /* \r and "erase to end of line" redraw without flicker. */
        fprintf(p->f, "\r%s%s\033[K", bar, cut);
        fflush(p->f);
        p->drawn = true;
}

/* "transferring: 12.3 MiB / 27.0 MiB (45%), 1.2 MiB/s, ETA 12s" */
static void print_plain(Progress *p, uint64_t now) {
        _cleanup_free_ char *note = NULL;
        char pct[8] = "";
        Numbers n;

        format_numbers(p, now, &n);
        if (p->note)
                note = text_sanitize(p->note);
        if (p->total != UINT64_MAX)
                snprintf(pct, sizeof pct, " (%u%%)", format_percent(p->done, p->total));

        fprintf(p->f, "%s: %s%s%s%s%s%s%s%s\n", strempty(p->state), n.sizes, pct,
                *n.rate ? ", " : "", n.rate,
                *n.eta ? ", " : "", n.eta,
                note ? ": " : "", strempty(note));
        fflush(p->f);

        p->last_plain_usec = now;
        (void) free_and_strdup(&p->last_plain_state, p->state);
        (void) free_and_strdup(&p->last_plain_note, p->note);
}

void progress_update(Progress *p, const char *state, uint64_t done, uint64_t total, const char *note) {
        uint64_t now = now_monotonic_usec();

        assert(p);

        if (isempty(note))
                note = NULL;
        (void) free_and_strdup(&p->state, state);
        (void) free_and_strdup(&p->note, note);
        p->done = done;
        p->total = total;
        samples_add(p, now, done);

        if (p->tty) {
                draw_bar(p, now);
                return;
        }

        if (!streq_ptr(p->last_plain_state, p->state) || !streq_ptr(p->last_plain_note, p->note) ||
            p->last_plain_usec == 0 || now - p->last_plain_usec >= PLAIN_INTERVAL_USEC)
                print_plain(p, now);
}

void progress_tick(Progress *p) {
        assert(p);

        if (p->tty && p->state)
                draw_bar(p, now_monotonic_usec());
}

void progress_clear(Progress *p) {
        assert(p);

        if (!p->tty || !p->drawn)
                return;
        fputs("\r\033[K", p->f);
        fflush(p->f);
        p->drawn = false;
}
