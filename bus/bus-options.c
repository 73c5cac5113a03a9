/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The a{sv} options of Manager methods and of AddFileWithOptions: read by a table of keys and
 * types; the options CreateJob and Download share, and the file options of Download and
 * AddFileWithOptions, each listed and read in one place. */
#include "bus-errors.h"
#include "bus.h"

void bus_options_done(BusOptions *v) {
        assert(v);

        for (size_t i = 0; i < BUS_OPTIONS_MAX; i++)
                v->strvs[i] = strv_free(v->strvs[i]);
}

int bus_options_read(sd_bus_message *m, const BusOptionSpec *spec, size_t n_spec, BusOptions *v,
                     sd_bus_error *error) {
        int r;

        assert(m);
        assert(spec);
        assert(n_spec <= BUS_OPTIONS_MAX);
        assert(v);

        *v = (BusOptions) { .present = { false } };

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                size_t i;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < n_spec; i++)
                        if (streq(spec[i].key, key))
                                break;
                if (i == n_spec) {
                        char quoted[BUS_ERROR_QUOTE_SIZE];
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%s'.", bus_error_quote(quoted, key));
                }
                /* A key given twice is refused: so a dictionary is never read past its first
                 * n_spec + 1 entries. */
                if (v->present[i])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' is given more than once.", key);

                r = sd_bus_message_enter_container(m, 'v', spec[i].type);
                if (r == -ENXIO)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be of type '%s'.", key, spec[i].type);
                if (r < 0)
                        return r;
                if (streq(spec[i].type, "s"))
                        r = sd_bus_message_read_basic(m, 's', &v->strings[i]);
                else if (streq(spec[i].type, "b"))
                        r = sd_bus_message_read_basic(m, 'b', &v->booleans[i]);
                else if (streq(spec[i].type, "t"))
                        r = sd_bus_message_read_basic(m, 't', &v->u64s[i]);
                else if (streq(spec[i].type, "u")) {
                        uint32_t u = 0;
                        r = sd_bus_message_read_basic(m, 'u', &u);
                        v->u64s[i] = u;
                }
                else {
                        v->strvs[i] = strv_free(v->strvs[i]);
                        r = sd_bus_message_read_strv(m, &v->strvs[i]);
                }
                if (r < 0)
                        return r;
                v->present[i] = true;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

int bus_options_read_url_path(sd_bus_message *m, const BusOptionSpec *spec, size_t n_spec, const char **ret_url,
                              const char **ret_path, BusOptions *v, sd_bus_error *error) {
        int r;

        assert(m);
        assert(ret_url);
        assert(ret_path);

        r = sd_bus_message_read(m, "ss", ret_url, ret_path);
        if (r < 0)
                return r;
        return bus_options_read(m, spec, n_spec, v, error);
}

static const BusOptionSpec job_spec[_BUS_JOB_OPTION_MAX] = {
        [BUS_JOB_OPTION_PRIORITY] = { "priority", "s" },
        [BUS_JOB_OPTION_DESCRIPTION] = { "description", "s" },
        [BUS_JOB_OPTION_CANCEL_WHEN_OWNER_GONE] = { "cancel-when-owner-gone", "b" },
        [BUS_JOB_OPTION_COST_POLICY] = { "cost-policy", "s" },
        [BUS_JOB_OPTION_MAX_CONCURRENT_FILES] = { "max-concurrent-files", "u" },
};

void bus_options_spec_job(BusOptionSpec *spec) {
        assert(spec);
        memcpy(spec, job_spec, sizeof job_spec);
}

/* v: what the core's table made of the name s; a name it does not know is refused with the
 * names it knows. */
static int choice_or_error(int v, const char *s, const char *what, const char *names, sd_bus_error *error) {
        char quoted[BUS_ERROR_QUOTE_SIZE];

        assert(s);

        if (v >= 0)
                return v;
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown %s '%s'; use %s.", what,
                                 bus_error_quote(quoted, s), names);
}

int bus_options_parse_priority(const char *s, sd_bus_error *error) {
        assert(s);
        return choice_or_error(job_priority_from_string(s), s, "priority", "foreground, high, normal or low", error);
}

int bus_options_parse_cost_policy(const char *s, sd_bus_error *error) {
        assert(s);
        return choice_or_error(cost_policy_from_string(s), s, "cost policy", "always or unmetered", error);
}

/* The option cancel-when-owner-gone: true binds the new job to the caller's connection. */
static int owner_binding_option(Bus *b, sd_bus_message *m, bool wanted, char **ret, sd_bus_error *error) {
        int r;

        *ret = NULL;
        if (!wanted)
                return 0;
        r = bus_owner_binding(b, m, ret);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "cancel-when-owner-gone needs a caller with a unique bus name.");
        return r;
}

int bus_options_get_job(Bus *b, sd_bus_message *m, const BusOptions *v, JobOptions *o, char **ret_binding,
                        sd_bus_error *error) {
        int r;

        assert(b);
        assert(m);
        assert(v);
        assert(o);
        assert(ret_binding);

        *ret_binding = NULL;
        if (v->present[BUS_JOB_OPTION_PRIORITY]) {
                r = bus_options_parse_priority(v->strings[BUS_JOB_OPTION_PRIORITY], error);
                if (r < 0)
                        return r;
                o->priority = r;
        }
        o->description = v->strings[BUS_JOB_OPTION_DESCRIPTION];
        o->max_concurrent_files_set = v->present[BUS_JOB_OPTION_MAX_CONCURRENT_FILES];
        o->max_concurrent_files = (uint32_t) v->u64s[BUS_JOB_OPTION_MAX_CONCURRENT_FILES];
        /* The creator chooses the cost policy, else the daemon's default applies. */
        if (v->present[BUS_JOB_OPTION_COST_POLICY]) {
                r = bus_options_parse_cost_policy(v->strings[BUS_JOB_OPTION_COST_POLICY], error);
                if (r < 0)
                        return r;
                o->cost_policy = r;
                o->cost_policy_set = true;
        }
        r = owner_binding_option(b, m,
                                 v->present[BUS_JOB_OPTION_CANCEL_WHEN_OWNER_GONE] &&
                                 v->booleans[BUS_JOB_OPTION_CANCEL_WHEN_OWNER_GONE],
                                 ret_binding, error);
        if (r < 0)
                return r;
        o->cancel_with = *ret_binding;
        return 0;
}

static const BusOptionSpec file_spec[_BUS_FILE_OPTION_MAX] = {
        [BUS_FILE_OPTION_CHECKSUM] = { "checksum", "s" },
        [BUS_FILE_OPTION_SIZE] = { "size", "t" },
        [BUS_FILE_OPTION_MIRRORS] = { "mirrors", "as" },
        [BUS_FILE_OPTION_CHECKSUM_LIST] = { "checksum-list", "s" },
        [BUS_FILE_OPTION_CHECKSUM_LIST_SIGNATURE] = { "checksum-list-signature", "s" },
};

void bus_options_spec_file(BusOptionSpec *spec) {
        assert(spec);
        memcpy(spec, file_spec, sizeof file_spec);
}

void bus_options_get_file(const BusOptions *v, size_t first, JobFileOptions *ret) {
        assert(v);
        assert(first + _BUS_FILE_OPTION_MAX <= BUS_OPTIONS_MAX);
        assert(ret);

        *ret = (JobFileOptions) {
                .checksum = v->present[first + BUS_FILE_OPTION_CHECKSUM] ? v->strings[first + BUS_FILE_OPTION_CHECKSUM]
                                                                         : NULL,
                .expect_size = v->present[first + BUS_FILE_OPTION_SIZE],
                .size = v->u64s[first + BUS_FILE_OPTION_SIZE],
                .mirrors = v->strvs[first + BUS_FILE_OPTION_MIRRORS],
                .checksum_list = v->strings[first + BUS_FILE_OPTION_CHECKSUM_LIST],
                .checksum_list_signature = v->strings[first + BUS_FILE_OPTION_CHECKSUM_LIST_SIGNATURE],
        };
}
