/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs that only read: info, files. Each prints a table, or JSON with --json. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "bus-dict.h"
#include "bus-json.h"
#include "file-details.h"
#include "format.h"
#include "job-json.h"
#include "job-status.h"
#include "json.h"
#include "listed-file.h"
#include "names.h"
#include "report.h"
#include "table.h"
#include "util.h"
#include "xferctl.h"

static int print_json_end(JsonWriter *w) {
        int r = json_writer_finish(w);

        if (r < 0)
                return report_bus_error(NULL, r, "cannot write JSON");
        return 0;
}

static int print_table_end(Table *t) {
        int r = table_print(t, stdout);

        if (r < 0)
                return report_bus_error(NULL, r, "cannot write the table");
        return 0;
}

/* ---- info ---- */

/* The order a person reads a job in; properties not named here follow in bus order. */
static const char *const info_order[] = {
        "Id", "DisplayName", "Description", "Type", "Owner", "State", "WaitReason", "NextRetryTime", "Priority",
        "CostPolicy",
        "BytesTransferred", "BytesTotal", "Rate", "ExpectedEndTime", "FilesTransferred", "FilesTotal", "CurrentFile",
        "MaxConcurrentFiles",
        "BytesFromCache", "BytesFromOrigin",
        "ErrorName", "ErrorMessage", "ErrorCount",
        "AutoComplete", "BandwidthLimit", "AllowInsecureRedirect",
        "MinimumRetryDelay", "NoProgressTimeout", "MinimumNotificationInterval", "HttpHeaderNames", "Proxy", "UploadUrl",
        "CreationTime", "ModificationTime", "TransferCompletionTime",
};

typedef struct InfoEntry {
        char *name;
        char *value;
        bool shown;
} InfoEntry;

typedef struct Info {
        InfoEntry *entries;
        size_t n, allocated;
        JobStatus status;       /* for the percentage next to BytesTransferred */
} Info;

static void info_done(Info *info) {
        for (size_t i = 0; i < info->n; i++) {
                free(info->entries[i].name);
                free(info->entries[i].value);
        }
        free(info->entries);
        job_status_done(&info->status);
}

static bool name_in(const char *name, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(name, list[i]))
                        return true;
        return false;
}

static int render_seconds(uint32_t s, char **ret) {
        char d[FORMAT_DURATION_MAX];

        if (s < 60)
                return asprintf(ret, "%u s", (unsigned) s) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%u s (%s)", (unsigned) s, format_duration(d, s)) < 0 ? -ENOMEM : 0;
}

static int render_bytes(uint64_t v, const char *suffix, char **ret) {
        char b[FORMAT_BYTES_MAX];

        if (v < 1024)
                return asprintf(ret, "%" PRIu64 " B%s", v, suffix) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s%s (%" PRIu64 " bytes%s)", format_bytes(b, v), suffix, v, suffix) < 0 ? -ENOMEM : 0;
}

/* How a number property of a known name and type is shown; any other number is shown as
 * JSON (a newer daemon's). */
typedef enum NumberStyle {
        NUMBER_TIME,            /* a timestamp, 0 "-" */
        NUMBER_BYTES,           /* a byte count, UINT64_MAX "unknown" */
        NUMBER_RATE,            /* bytes per second */
        NUMBER_LIMIT,           /* bytes per second, 0 "none" */
        NUMBER_MILLISECONDS,
        NUMBER_SECONDS,
        NUMBER_UID,
        _NUMBER_STYLE_MAX,
} NumberStyle;

static const struct {
        const char *name;
        char type;
        NumberStyle style;
} number_styles[] = {
        { "CreationTime",                't', NUMBER_TIME },
        { "ModificationTime",            't', NUMBER_TIME },
        { "TransferCompletionTime",      't', NUMBER_TIME },
        { "ExpectedEndTime",             't', NUMBER_TIME },
        { "NextRetryTime",               't', NUMBER_TIME },
        { "BytesTotal",                  't', NUMBER_BYTES },
        { "BytesTransferred",            't', NUMBER_BYTES },
        { "BytesFromCache",              't', NUMBER_BYTES },
        { "BytesFromOrigin",             't', NUMBER_BYTES },
        { "Rate",                        't', NUMBER_RATE },
        { "BandwidthLimit",              't', NUMBER_LIMIT },
        { "MinimumNotificationInterval", 'u', NUMBER_MILLISECONDS },
        { "MinimumRetryDelay",           'u', NUMBER_SECONDS },
        { "NoProgressTimeout",           'u', NUMBER_SECONDS },
        { "Owner",                       'u', NUMBER_UID },
};

static NumberStyle number_style(const char *name, char type) {
        for (size_t i = 0; i < ELEMENTSOF(number_styles); i++)
                if (number_styles[i].type == type && streq(number_styles[i].name, name))
                        return number_styles[i].style;
        return _NUMBER_STYLE_MAX;
}

static int render_number(const Info *info, const char *name, NumberStyle style, uint64_t v, char **ret) {
        char ts[FORMAT_TIMESTAMP_MAX], u[FORMAT_UID_MAX];
        _cleanup_free_ char *s = NULL;
        int r;

        switch (style) {
        case NUMBER_TIME:
                *ret = strdup(v == 0 ? "-" : format_timestamp(ts, v));
                return 0;
        case NUMBER_BYTES:
                if (v == UINT64_MAX) {
                        *ret = strdup("unknown");
                        return 0;
                }
                if (!streq(name, "BytesTransferred") || info->status.bytes_total == UINT64_MAX ||
                    info->status.bytes_total == 0)
                        return render_bytes(v, "", ret);
                r = render_bytes(v, "", &s);
                if (r < 0)
                        return r;
                if (asprintf(ret, "%s, %u%%", s, format_percent(v, info->status.bytes_total)) < 0)
                        *ret = NULL;
                return 0;
        case NUMBER_LIMIT:
                if (v == 0) {
                        *ret = strdup("none");
                        return 0;
                }
                return render_bytes(v, "/s", ret);
        case NUMBER_RATE:
                return render_bytes(v, "/s", ret);
        case NUMBER_MILLISECONDS:
                if (asprintf(ret, "%u ms", (unsigned) v) < 0)
                        *ret = NULL;
                return 0;
        case NUMBER_SECONDS:
                return render_seconds((uint32_t) v, ret);
        case NUMBER_UID:
                *ret = strdup(format_uid(u, (uint32_t) v));
                return 0;
        default:
                return -EINVAL;
        }
}

/* Reads one property value (the variant) and renders it for people. */
static int render_property(const Info *info, const char *name, sd_bus_message *m, char **ret) {
        NumberStyle style;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_enter_container(m, 'v', NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        style = number_style(name, type);
        if (style != _NUMBER_STYLE_MAX) {
                uint64_t v;

                if (type == 'u') {
                        uint32_t v32 = 0;

                        r = sd_bus_message_read(m, "u", &v32);
                        v = v32;
                } else
                        r = sd_bus_message_read(m, "t", &v);
                if (r < 0)
                        return r;
                r = render_number(info, name, style, v, ret);
                if (r < 0)
                        return r;

        } else if (type == 'b') {
                int v;

                r = sd_bus_message_read(m, "b", &v);
                if (r >= 0)
                        *ret = strdup(v ? "yes" : "no");

        } else if (type == 's' || type == 'o') {
                const char *v;

                r = sd_bus_message_read_basic(m, type, &v);
                if (r >= 0)
                        *ret = strdup(isempty(v) ? "-" : v);

        } else if (type == 'a' && streq(contents, "s")) {
                /* HttpHeaderNames: "Authorization, X-Token" */
                _cleanup_strv_free_ char **names = NULL;
                const char *v;

                r = sd_bus_message_enter_container(m, 'a', "s");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_read(m, "s", &v)) > 0)
                        if (strv_consume(&names, strdup(v)) < 0)
                                return -ENOMEM;
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                *ret = names ? strv_join(names, ", ") : strdup("-");

        } else if (type == 'u' || type == 't' || type == 'i' || type == 'x' || type == 'q' ||
                   type == 'n' || type == 'y' || type == 'd' || type == 'a' || type == 'r' || type == 'v') {
                /* Something newer than this client: show it as compact JSON. */
                r = bus_json_to_string(m, ret);
                if (r < 0)
                        return r;
        } else {
                r = sd_bus_message_skip(m, NULL);
                if (r >= 0)
                        *ret = strdup("?");
        }
        if (r < 0)
                return r;
        if (!*ret)
                return -ENOMEM;

        return sd_bus_message_exit_container(m);
}

static int info_entry(sd_bus_message *m, const char *name, void *userdata) {
        Info *info = userdata;
        InfoEntry *e;
        int r;

        r = array_reserve((void **) &info->entries, &info->allocated, info->n + 1, sizeof(InfoEntry));
        if (r < 0)
                return r;
        e = &info->entries[info->n];
        *e = (InfoEntry) { .name = strdup(name) };
        info->n++;
        if (!e->name)
                return -ENOMEM;
        return render_property(info, name, m, &e->value);
}

static int info_read(Info *info, sd_bus_message *m) {
        int r;

        /* A first pass for the numbers that other lines refer to. */
        r = job_status_read_dict(&info->status, m, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        return bus_dict_read(m, info_entry, info);
}

static int info_print(Info *info) {
        _cleanup_(table_freep) Table *t = NULL;
        static const char *const headers[] = { "PROPERTY", "VALUE" };
        int r;

        t = table_new(2, headers);
        if (!t)
                return -ENOMEM;
        table_set_show_header(t, false);
        table_set_align_right(t, 0, true);

        /* Known properties in reading order, then whatever else the daemon has. */
        for (size_t k = 0; k <= ELEMENTSOF(info_order); k++)
                for (size_t i = 0; i < info->n; i++) {
                        InfoEntry *e = &info->entries[i];

                        if (e->shown)
                                continue;
                        if (k < ELEMENTSOF(info_order) ? !streq(e->name, info_order[k])
                                                       : name_in(e->name, info_order, ELEMENTSOF(info_order)))
                                continue;
                        e->shown = true;
                        r = table_addf(t, "%s:", e->name);
                        if (r >= 0)
                                r = table_add(t, e->value);
                        if (r < 0)
                                return r;
                }

        return print_table_end(t);
}

int verb_info(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        assert(c);
        assert(argv);

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, c->job_path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", XFERD_JOB_IFACE);
        if (r < 0)
                return report_bus_error(&error, r, "cannot read job %s", c->job_id);

        if (c->json) {
                _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(stdout, true);

                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                r = job_json_append_properties(w, reply);
                if (r < 0)
                        return report_bus_error(NULL, r, "cannot read the properties of job %s", c->job_id);
                return print_json_end(w);
        }

        Info info = { .status = JOB_STATUS_INIT };
        r = info_read(&info, reply);
        if (r < 0) {
                info_done(&info);
                return report_bus_error(NULL, r, "cannot read the properties of job %s", c->job_id);
        }
        r = info_print(&info);
        info_done(&info);
        if (r < 0)
                return r;
        /* What each file is checked against, and what it checked out against. */
        return file_details_print(c->bus, c->job_path, stdout);
}

/* ---- files ---- */

int verb_files(Ctl *c, int argc, char **argv) {
        static const char *const headers[] = { "URL", "PATH", "PROGRESS", "COMPLETED" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        char progress[FORMAT_PROGRESS_MAX];
        ListedFile f;
        int r;

        assert(c);
        assert(argv);

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, c->job_path, XFERD_JOB_IFACE, "ListFiles", &error, &reply, "");
        if (r < 0)
                return report_bus_error(&error, r, "cannot list the files of job %s", c->job_id);

        if (c->json) {
                w = json_writer_new(stdout, true);
                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                json_begin_array(w);
        } else {
                t = table_new(ELEMENTSOF(headers), headers);
                if (!t)
                        return report_error(-ENOMEM, "out of memory");
                table_set_show_header(t, c->legend);
        }

        r = listed_file_enter(reply);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of ListFiles");
        while ((r = listed_file_next(reply, &f)) > 0) {
                if (w) {
                        json_begin_object(w);
                        json_member_string(w, "Url", f.url);
                        json_member_string(w, "LocalPath", f.local_path);
                        json_member_string(w, "TemporaryPath", f.temporary_path);
                        job_json_member_bytes_total(w, f.bytes_total);
                        json_member_uint(w, "BytesTransferred", f.bytes_transferred);
                        json_member_bool(w, "Completed", f.completed);
                        json_end_object(w);
                        continue;
                }
                r = table_add(t, f.url);
                if (r >= 0)
                        r = table_add(t, f.local_path);
                if (r >= 0)
                        r = table_add(t, format_progress(progress, f.bytes_transferred, f.bytes_total));
                if (r >= 0)
                        r = table_add(t, f.completed ? "yes" : "no");
                if (r < 0)
                        return report_error(r, "out of memory");
        }
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of ListFiles");

        if (w) {
                json_end_array(w);
                return print_json_end(w);
        }
        if (table_rows(t) == 0) {
                if (c->legend)
                        printf("Job %s has no files.\n", c->job_id);
                return 0;
        }
        return print_table_end(t);
}
