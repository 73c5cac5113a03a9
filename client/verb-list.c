/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list: the jobs that are not finished, as a table that fits the terminal, or JSON.
 *
 * ListJobsCompact (ListJobs from an older daemon) gives the jobs and their order; one
 * GetManagedObjects adds what it does not carry (Rate, WaitReason, NextRetryTime, ErrorCount)
 * for all of them at once. A daemon without it still gets a listing. */

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "format.h"
#include "job-list.h"
#include "job-status.h"
#include "json.h"
#include "names.h"
#include "report.h"
#include "table.h"
#include "util.h"
#include "wait-text.h"
#include "xferctl.h"

/* Ids are cut to a unique prefix of at least this many digits when the table is too wide,
 * as git and docker show short ids; any JOB argument takes such a prefix. */
#define SHORT_ID_MIN 8

typedef struct Row {
        char *id;
        char *name;
        char *type;
        char *path;
        uint32_t uid;
        JobStatus status;       /* from ListJobs, completed from GetManagedObjects */
} Row;

typedef struct Rows {
        Row *items;
        size_t n, allocated;
        Row **by_path;          /* the rows in the order of their paths, for the objects' lookup */
} Rows;

static void rows_done(Rows *rows) {
        free(rows->by_path);
        for (size_t i = 0; i < rows->n; i++) {
                free(rows->items[i].id);
                free(rows->items[i].name);
                free(rows->items[i].type);
                free(rows->items[i].path);
                job_status_done(&rows->items[i].status);
        }
        free(rows->items);
}

static int row_add(const JobListEntry *e, void *userdata) {
        Rows *rows = userdata;
        Row *row;

        if (array_reserve((void **) &rows->items, &rows->allocated, rows->n + 1, sizeof *row) < 0)
                return -ENOMEM;
        row = &rows->items[rows->n++];
        *row = (Row) {
                .id = strdup(e->id), .name = strdup(e->name), .type = strdup(e->type), .path = strdup(e->path),
                .uid = e->uid, .status = JOB_STATUS_INIT,
        };
        row->status.bytes_transferred = e->bytes_transferred;
        row->status.bytes_total = e->bytes_total;
        if (!row->id || !row->name || !row->type || !row->path || free_and_strdup(&row->status.state, e->state) < 0)
                return -ENOMEM;
        return 0;
}

static int row_path_compare(const void *a, const void *b) {
        const Row *const *x = a, *const *y = b;

        return strcmp((*x)->path, (*y)->path);
}

/* by_path, so that each object of GetManagedObjects finds its row in log n (100 000 jobs:
 * a walk of the rows for each would be 10^10 comparisons). */
static int rows_index(Rows *rows) {
        rows->by_path = malloc(rows->n * sizeof *rows->by_path);
        if (!rows->by_path)
                return -ENOMEM;
        for (size_t i = 0; i < rows->n; i++)
                rows->by_path[i] = &rows->items[i];
        qsort(rows->by_path, rows->n, sizeof *rows->by_path, row_path_compare);
        return 0;
}

/* The job interface of a listed job, into its row. */
static int row_read_object(const char *path, sd_bus_message *m, void *userdata) {
        Rows *rows = userdata;
        Row key = { .path = (char *) path }, *k = &key, **found;

        found = bsearch(&k, rows->by_path, rows->n, sizeof *rows->by_path, row_path_compare);
        if (found)
                return job_status_read_dict(&(*found)->status, m, NULL);
        return sd_bus_message_skip(m, "a{sv}");
}

static void json_row(JsonWriter *w, const Row *row) {
        const JobStatus *s = &row->status;
        const JobListEntry e = {
                .name = row->name, .type = row->type, .state = s->state, .uid = row->uid,
                .bytes_transferred = s->bytes_transferred, .bytes_total = s->bytes_total,
        };

        json_begin_object(w);
        json_member_string(w, "Id", row->id);
        job_list_json_members(w, &e);
        /* The newer properties only from a daemon that has them: a missing key says
         * "unknown", a 0 would be a claim. */
        if (s->present & JOB_HAS_RATE) {
                json_member_uint(w, "Rate", s->rate);
        }
        if (s->present & JOB_HAS_EXPECTED_END_TIME) {
                json_member_uint(w, "ExpectedEndTime", s->expected_end_time);
        }
        if (s->present & JOB_HAS_NEXT_RETRY_TIME) {
                json_member_uint(w, "NextRetryTime", s->next_retry_time);
        }
        if (s->present & JOB_HAS_WAIT_REASON) {
                json_member_string(w, "WaitReason", s->wait_reason);
        }
        json_member_string(w, "Path", row->path);
        json_end_object(w);
}

static int id_compare(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The shortest prefix length, at least SHORT_ID_MIN, that tells the listed ids apart: the
 * longest prefix two ids share is shared by two neighbours in sorted order. */
static size_t short_id_len(const Rows *rows) {
        _cleanup_free_ const char **ids = malloc(rows->n * sizeof *ids);
        size_t len = SHORT_ID_MIN;

        if (!ids)
                return XFERD_JOB_ID_LEN;
        for (size_t i = 0; i < rows->n; i++)
                ids[i] = rows->items[i].id;
        qsort(ids, rows->n, sizeof *ids, id_compare);
        for (size_t i = 1; i < rows->n; i++) {
                size_t k = 0;

                while (ids[i - 1][k] && ids[i - 1][k] == ids[i][k])
                        k++;
                if (k + 1 > len)
                        len = k + 1;
        }
        return len;
}

static Table *build_table(const Ctl *c, const Rows *rows, size_t id_len, size_t max_width) {
        static const char *const headers_all[] = { "ID", "TYPE", "STATE", "OWNER", "PROGRESS", "RATE", "WAITING", "NAME" };
        static const char *const headers[] = { "ID", "TYPE", "STATE", "PROGRESS", "RATE", "WAITING", "NAME" };
        size_t progress_col = c->all ? 4 : 3;
        uint64_t now = now_realtime_usec();
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        t = c->all ? table_new(ELEMENTSOF(headers_all), headers_all) : table_new(ELEMENTSOF(headers), headers);
        if (!t)
                return NULL;
        table_set_show_header(t, c->legend);
        table_set_align_right(t, progress_col, true);
        table_set_align_right(t, progress_col + 1, true);
        table_set_max_width(t, max_width);
        /* The name gives way first, then what it waits for. */
        table_set_shrinkable(t, progress_col + 3, 8);
        table_set_shrinkable(t, progress_col + 2, 10);

        for (size_t i = 0; r >= 0 && i < rows->n; i++) {
                const Row *row = &rows->items[i];
                const JobStatus *s = &row->status;
                char a[FORMAT_BYTES_MAX], p[FORMAT_PROGRESS_MAX], u[FORMAT_UID_MAX];
                _cleanup_free_ char *wait = wait_text_short(s, now);

                r = table_addf(t, "%.*s", (int) id_len, row->id);
                if (r >= 0)
                        r = table_add(t, row->type);
                if (r >= 0)
                        r = table_add(t, s->state);
                if (r >= 0 && c->all)
                        r = table_add(t, format_uid(u, row->uid));
                if (r >= 0)
                        r = table_add(t, format_progress(p, s->bytes_transferred, s->bytes_total));
                if (r >= 0 && (s->present & JOB_HAS_RATE) && streq_ptr(s->state, "transferring"))
                        r = table_addf(t, "%s/s", format_bytes(a, s->rate));
                else if (r >= 0)
                        r = table_add(t, "-");
                if (r >= 0)
                        r = table_add(t, isempty(wait) ? "-" : wait);
                if (r >= 0)
                        r = table_add(t, row->name);
        }
        return r < 0 ? NULL : TAKE_PTR(t);
}

/* The terminal's width when stdout is one; else $COLUMNS if set; else no limit, so that a
 * pipe gets whole lines. */
static size_t output_width(void) {
        struct winsize ws;
        const char *e = getenv("COLUMNS");

        if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        if (e && atoi(e) > 0)
                return (size_t) atoi(e);
        return 0;
}

static int print_rows(const Ctl *c, const Rows *rows) {
        _cleanup_(table_freep) Table *t = NULL;
        size_t width = output_width();
        int r;

        if (c->json) {
                _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(stdout, true);

                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                json_begin_array(w);
                for (size_t i = 0; i < rows->n; i++)
                        json_row(w, &rows->items[i]);
                json_end_array(w);
                r = json_writer_finish(w);
                return r < 0 ? report_bus_error(NULL, r, "cannot write JSON") : 0;
        }

        if (rows->n == 0) {
                if (c->legend)
                        printf("No jobs.\n");
                return 0;
        }
        t = build_table(c, rows, XFERD_JOB_ID_LEN, width);
        if (t && width > 0 && table_width(t) > width) {
                table_free(t);
                t = build_table(c, rows, short_id_len(rows), width);
        }
        if (!t)
                return report_error(-ENOMEM, "out of memory");
        r = table_print(t, stdout);
        return r < 0 ? report_bus_error(NULL, r, "cannot write the table") : 0;
}

int verb_list(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *objects = NULL;
        Rows rows = { 0 };
        int r;

        assert(c);

        r = job_list_call(c->bus, c->all, &error, &reply);
        if (r < 0)
                return report_bus_error(&error, r, "cannot list jobs");
        r = job_list_read(reply, row_add, &rows);
        if (r < 0) {
                rows_done(&rows);
                return report_bus_error(NULL, r, "cannot read the reply of ListJobs");
        }

        /* Optional: without it the rate and wait columns stay empty. */
        if (rows.n > 0 && rows_index(&rows) >= 0 && job_objects_call(c->bus, &objects) >= 0)
                (void) job_objects_read(objects, row_read_object, &rows);

        r = print_rows(c, &rows);
        rows_done(&rows);
        return r;
}
