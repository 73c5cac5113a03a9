/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "bus-dict.h"
#include "file-details.h"
#include "names.h"
#include "report.h"
#include "text.h"
#include "util.h"

typedef struct Details {
        const char *path, *url, *url_in_use, *checksum, *checksum_source, *list, *key, *verified;
        char **verified_by;
        bool download;                  /* has verified-by: uploads have nothing to verify */
        bool transferred;
        bool has_expected_size;
        uint64_t expected_size;
} Details;

static void details_done(Details *d) {
        strv_free(d->verified_by);
}

static const BusDictField detail_strings[] = {
        { "local-path",        BUS_VALUE_STRING_BORROWED, offsetof(Details, path) },
        { "url",               BUS_VALUE_STRING_BORROWED, offsetof(Details, url) },
        { "url-in-use",        BUS_VALUE_STRING_BORROWED, offsetof(Details, url_in_use) },
        { "checksum",          BUS_VALUE_STRING_BORROWED, offsetof(Details, checksum) },
        { "checksum-source",   BUS_VALUE_STRING_BORROWED, offsetof(Details, checksum_source) },
        { "checksum-list",     BUS_VALUE_STRING_BORROWED, offsetof(Details, list) },
        { "checksum-list-key", BUS_VALUE_STRING_BORROWED, offsetof(Details, key) },
        { "verified-checksum", BUS_VALUE_STRING_BORROWED, offsetof(Details, verified) },
};

/* One entry of a file's a{sv}; unknown keys are skipped (later daemons add some). */
static int details_entry(sd_bus_message *m, const char *key, void *userdata) {
        const BusDictField *f = bus_dict_field_find(detail_strings, ELEMENTSOF(detail_strings), key);
        Details *d = userdata;
        int b = 0, r;

        if (f)
                return bus_dict_read_value(m, f->kind, (char *) d + f->offset);

        if (streq(key, "verified-by")) {
                d->download = true;
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &d->verified_by);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                return r;
        }
        if (streq(key, "transferred")) {
                r = sd_bus_message_read(m, "v", "b", &b);
                d->transferred = b;
                return r;
        }
        if (streq(key, "expected-size")) {
                r = sd_bus_message_read(m, "v", "t", &d->expected_size);
                d->has_expected_size = r >= 0;
                return r;
        }
        return 0;
}

/* "checksum, size" */
static void print_safe(FILE *out, const char *label, const char *value) {
        _cleanup_free_ char *safe = text_sanitize(value);

        fprintf(out, "    %s: %s\n", label, safe ? safe : "?");
}

static void details_print(FILE *out, size_t index, const Details *d) {
        _cleanup_free_ char *path = text_sanitize(strempty(d->path));
        _cleanup_free_ char *by = d->verified_by && d->verified_by[0] ? strv_join(d->verified_by, ", ") : NULL;

        fprintf(out, "  %zu: %s\n", index + 1, path ? path : "?");
        if (d->url_in_use && !streq_ptr(d->url_in_use, d->url))
                print_safe(out, "from mirror", d->url_in_use);
        if (d->checksum) {
                _cleanup_free_ char *from = NULL;
                if (streq_ptr(d->checksum_source, "checksum-list") && d->list &&
                    asprintf(&from, "%s (from the checksum list %s, signed by %s)", d->checksum, d->list,
                             d->key ? d->key : "?") < 0)
                        from = NULL;
                print_safe(out, "expected", from ? from : d->checksum);
        } else if (d->list)
                print_safe(out, "expected", "the digest of the checksum list (not fetched yet)");
        if (d->has_expected_size)
                fprintf(out, "    expected size: %" PRIu64 " bytes\n", d->expected_size);
        if (!d->transferred)
                fprintf(out, "    verified: not yet (not transferred)\n");
        else if (!by)
                fprintf(out, "    verified: nothing was expected of it\n");
        else
                fprintf(out, "    verified: %s%s%s%s\n", by, d->verified ? " (" : "", strempty(d->verified),
                        d->verified ? ")" : "");
}

int file_details_print(sd_bus *bus, const char *job_path, FILE *out) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        size_t i = 0;
        int r;

        assert(bus);
        assert(job_path);
        assert(out);

        r = sd_bus_call_method(bus, XFERD_BUS_NAME, job_path, XFERD_JOB_IFACE, "GetFileDetails", &error, &reply, "");
        if (r < 0)
                return sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD) ? 0 :
                       report_bus_error(&error, r, "cannot read the files of the job");

        r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of GetFileDetails");
        for (;; i++) {
                Details d = { .path = NULL };

                r = bus_dict_read(reply, details_entry, &d);
                if (r > 0 && d.download) {
                        if (i == 0)
                                fprintf(out, "Files:\n");
                        details_print(out, i, &d);
                }
                details_done(&d);
                if (r <= 0)
                        break;
        }
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of GetFileDetails");
        return 0;
}
