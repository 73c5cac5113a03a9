/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libgen.h>

#include "bus-errors.h"
#include "bus.h"
#include "config.h"
#include "safe-text.h"

static int parse_priority(const char *s, JobPriority *ret, sd_bus_error *error) {
        JobPriority p = job_priority_from_string(s);
        char quoted[BUS_ERROR_QUOTE_SIZE];

        if (p < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown priority '%s'; use foreground, high, normal or low.",
                                         bus_error_quote(quoted, s));
        *ret = p;
        return 0;
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

/* The cost-policy option: the creator chooses, else the daemon's default applies. */
static int parse_cost_policy(const char *s, JobOptions *o, sd_bus_error *error) {
        CostPolicy p = cost_policy_from_string(s);

        if (p < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown cost policy '%s'; use always or unmetered.", s);
        o->cost_policy = p;
        o->cost_policy_set = true;
        return 0;
}

static int reply_job(sd_bus_message *m, const Job *j) {
        return sd_bus_reply_method_return(m, "so", j->id, bus_job_path(j).s);
}

enum { OPT_TYPE, OPT_PRIORITY, OPT_DESCRIPTION, OPT_CANCEL_WHEN_OWNER_GONE, OPT_CHECKSUM_LIST,
       OPT_CHECKSUM_LIST_SIGNATURE, OPT_COST_POLICY, OPT_MAX_CONCURRENT_FILES };

static int method_create_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        static const BusOptionSpec spec[] = {
                [OPT_TYPE] = { "type", "s" },
                [OPT_PRIORITY] = { "priority", "s" },
                [OPT_DESCRIPTION] = { "description", "s" },
                [OPT_CANCEL_WHEN_OWNER_GONE] = { "cancel-when-owner-gone", "b" },
                [OPT_CHECKSUM_LIST] = { "checksum-list", "s" },
                [OPT_CHECKSUM_LIST_SIGNATURE] = { "checksum-list-signature", "s" },
                [OPT_COST_POLICY] = { "cost-policy", "s" },
                [OPT_MAX_CONCURRENT_FILES] = { "max-concurrent-files", "u" },
        };
        Bus *b = userdata;
        JobOptions o = { .type = JOB_DOWNLOAD, .priority = JOB_PRIORITY_NORMAL };
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_(bus_options_done) BusOptions v = { .present = { false } };
        _cleanup_free_ char *binding = NULL;
        const char *name;
        BusCaller caller;
        Job *j;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = bus_options_read(m, spec, ELEMENTSOF(spec), &v, error);
        if (r < 0)
                return r;
        if (v.present[OPT_TYPE]) {
                o.type = job_type_from_string(v.strings[OPT_TYPE]);
                if (o.type < 0) {
                        char quoted[BUS_ERROR_QUOTE_SIZE];
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown job type '%s'; use 'download' or 'upload'.",
                                                 bus_error_quote(quoted, v.strings[OPT_TYPE]));
                }
        }
        if (v.present[OPT_PRIORITY]) {
                r = parse_priority(v.strings[OPT_PRIORITY], &o.priority, error);
                if (r < 0)
                        return r;
        }
        o.description = v.strings[OPT_DESCRIPTION];
        o.max_concurrent_files_set = v.present[OPT_MAX_CONCURRENT_FILES];
        o.max_concurrent_files = (uint32_t) v.u64s[OPT_MAX_CONCURRENT_FILES];
        o.checksum_list = v.strings[OPT_CHECKSUM_LIST];
        o.checksum_list_signature = v.strings[OPT_CHECKSUM_LIST_SIGNATURE];
        if (v.present[OPT_COST_POLICY]) {
                r = parse_cost_policy(v.strings[OPT_COST_POLICY], &o, error);
                if (r < 0)
                        return r;
        }
        r = owner_binding_option(b, m, v.present[OPT_CANCEL_WHEN_OWNER_GONE] && v.booleans[OPT_CANCEL_WHEN_OWNER_GONE],
                                 &binding, error);
        if (r < 0)
                return r;
        o.cancel_with = binding;

        r = bus_access_get_caller(b, m, &caller);
        if (r < 0)
                return r;
        /* Files are reached with the groups of the connection that created the job. */
        o.groups = caller.groups;
        o.n_groups = caller.n_groups;
        r = manager_create_job(b->manager, caller.uid, name, &o, &j, &e);
        if (r < 0)
                return bus_error_from_call(error, r, &e);
        return reply_job(m, j);
}

enum { DL_AUTO_COMPLETE, DL_PRIORITY, DL_DESCRIPTION, DL_DISPLAY_NAME, DL_CANCEL_WHEN_OWNER_GONE, DL_COST_POLICY,
       DL_MAX_CONCURRENT_FILES, DL_FILE };

static int method_download(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        static const BusOptionSpec spec[] = {
                [DL_AUTO_COMPLETE] = { "auto-complete", "b" },
                [DL_PRIORITY] = { "priority", "s" },
                [DL_DESCRIPTION] = { "description", "s" },
                [DL_DISPLAY_NAME] = { "display-name", "s" },
                [DL_CANCEL_WHEN_OWNER_GONE] = { "cancel-when-owner-gone", "b" },
                [DL_COST_POLICY] = { "cost-policy", "s" },
                [DL_MAX_CONCURRENT_FILES] = { "max-concurrent-files", "u" },
                [DL_FILE + BUS_FILE_OPTION_CHECKSUM] = { "checksum", "s" },
                [DL_FILE + BUS_FILE_OPTION_SIZE] = { "size", "t" },
                [DL_FILE + BUS_FILE_OPTION_MIRRORS] = { "mirrors", "as" },
                [DL_FILE + BUS_FILE_OPTION_CHECKSUM_LIST] = { "checksum-list", "s" },
                [DL_FILE + BUS_FILE_OPTION_CHECKSUM_LIST_SIGNATURE] = { "checksum-list-signature", "s" },
        };
        _cleanup_free_ char *binding = NULL;
        Bus *b = userdata;
        JobOptions o = { .type = JOB_DOWNLOAD, .priority = JOB_PRIORITY_NORMAL, .auto_complete = true };
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_(bus_options_done) BusOptions v = { .present = { false } };
        JobFileOptions fo;
        const char *url, *path;
        _cleanup_free_ char *copy = NULL, *safe_name = NULL;
        BusCaller caller;
        Job *j;
        int r;

        r = sd_bus_message_read(m, "ss", &url, &path);
        if (r < 0)
                return r;
        r = bus_options_read(m, spec, ELEMENTSOF(spec), &v, error);
        if (r < 0)
                return r;
        bus_options_get_file(&v, DL_FILE, &fo);
        if (v.present[DL_AUTO_COMPLETE])
                o.auto_complete = v.booleans[DL_AUTO_COMPLETE];
        if (v.present[DL_PRIORITY]) {
                r = parse_priority(v.strings[DL_PRIORITY], &o.priority, error);
                if (r < 0)
                        return r;
        }
        o.description = v.strings[DL_DESCRIPTION];
        o.max_concurrent_files_set = v.present[DL_MAX_CONCURRENT_FILES];
        o.max_concurrent_files = (uint32_t) v.u64s[DL_MAX_CONCURRENT_FILES];
        if (v.present[DL_COST_POLICY]) {
                r = parse_cost_policy(v.strings[DL_COST_POLICY], &o, error);
                if (r < 0)
                        return r;
        }
        r = owner_binding_option(b, m, v.present[DL_CANCEL_WHEN_OWNER_GONE] && v.booleans[DL_CANCEL_WHEN_OWNER_GONE],
                                 &binding, error);
        if (r < 0)
                return r;
        o.cancel_with = binding;

        /* A file name may hold what a display name may not (control characters): the name
         * made from it is made safe, and cut to fit. */
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (!v.present[DL_DISPLAY_NAME]) {
                safe_name = safe_text_dup(basename(copy), JOB_DISPLAY_NAME_MAX);
                if (!safe_name)
                        return -ENOMEM;
        }
        const char *name = v.present[DL_DISPLAY_NAME] ? v.strings[DL_DISPLAY_NAME] : safe_name;

        r = bus_access_get_caller(b, m, &caller);
        if (r < 0)
                return r;
        /* Files are reached with the groups of the connection that created the job. */
        o.groups = caller.groups;
        o.n_groups = caller.n_groups;
        /* The three steps in one batch with the Download calls that arrive together: one
         * commit, then what they announce, then the replies. */
        CallError stored = { .kind = CALL_ERROR_NONE };
        int k;
        manager_batch_begin(b->manager);
        r = manager_create_job(b->manager, caller.uid, name, &o, &j, &e);
        if (r < 0) {
                if (manager_batch_end(b->manager, &stored) > 0)
                        (void) manager_batch_close(b->manager, &stored);
                return bus_error_from_call(error, r, &e);
        }
        char *urls[] = { (char *) url, NULL }, *paths[] = { (char *) path, NULL };
        r = job_add_files_with_options(j, urls, paths, &fo, 1, &e);
        if (r >= 0)
                r = job_resume(j, &e);
        k = manager_batch_end(b->manager, &stored);
        /* A failed call is answered now: what the batch holds is stored and told first. */
        if (k > 0 && r < 0)
                k = manager_batch_close(b->manager, &stored);
        if (k < 0)  /* nothing of it was stored: the job is gone again, never announced */
                return bus_error_from_call(error, k, &stored);
        if (k > 0 && r >= 0) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                r = sd_bus_message_new_method_return(m, &reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "so", j->id, bus_job_path(j).s);
                if (r >= 0)
                        r = bus_batch_keep(b, m, reply);
                if (r >= 0)
                        return r;
                /* No room to keep the reply: the batch is stored and told, then this reply. */
                (void) manager_batch_close(b->manager, &stored);
                return reply_job(m, j);
        }
        if (r < 0) {
                /* Nothing of a refused Download stays behind. */
                CallError ignored = { .kind = CALL_ERROR_NONE };
                (void) job_cancel(j, NULL, &ignored);
                return bus_error_from_call(error, r, &e);
        }
        return reply_job(m, j);
}

static int method_get_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const char *id;
        Job *j;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        j = manager_find_job(b->manager, id);
        if (!j || job_state_is_final(j->state)) {
                char quoted[BUS_ERROR_QUOTE_SIZE];
                return sd_bus_error_setf(error, bus_error_name(ERROR_NAME_NO_SUCH_JOB),
                                         "No job with id '%s' is queued; see ListJobs.", bus_error_quote(quoted, id));
        }
        r = bus_access_check_job(b, m, j, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", bus_job_path(j).s);
}

typedef struct JobsListed {
        Bus *bus;
        bool all;
        uid_t uid;
} JobsListed;

static int append_jobs(sd_bus_message *reply, void *userdata) {
        JobsListed *l = userdata;
        int r;

        for (Job *j = manager_first_job(l->bus->manager); j; j = job_next(j)) {
                if (!l->all && j->owner != l->uid)
                        continue;
                r = sd_bus_message_append(reply, "(ssssutto)", j->id, j->display_name,
                                          job_type_to_string(j->type), job_state_to_string(j->state),
                                          (uint32_t) j->owner, job_bytes_transferred(j), job_bytes_total(j),
                                          bus_job_path(j).s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        int all, r;
        uid_t uid;

        r = sd_bus_message_read(m, "b", &all);
        if (r < 0)
                return r;
        r = bus_access_get_caller_uid(b, m, &uid);
        if (r < 0)
                return r;
        if (all && b->system && !bus_access_is_admin(b, m, uid))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root or an administrator polkit allows "
                                        "(org.xferd.Transfer1.manage-all) may list the jobs of all users.");

        return bus_reply_array(m, "(ssssutto)", append_jobs, &(JobsListed) { b, all, uid });
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", XFERD_VERSION);
}

static int property_get_max_background(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "u", manager_get_config(b->manager)->max_background_transfers);
}

static int property_get_background_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "t", manager_get_config(b->manager)->background_bandwidth_limit);
}

static int property_get_default_cost_policy(sd_bus *bus, const char *path, const char *interface,
                                            const char *property, sd_bus_message *reply, void *userdata,
                                            sd_bus_error *error) {
        Bus *b = userdata;
        CostPolicy p = manager_get_config(b->manager)->default_cost_policy;

        return sd_bus_message_append(reply, "s", cost_policy_to_string(p));
}

/* What xferd believes about the network, for `xferctl status`: the source, and NetworkManager's
 * values while it is the source ("unknown" otherwise). */
static int property_get_network(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const NetworkView *v = manager_get_network(b->manager);
        bool nm = v->source == NETWORK_SOURCE_NETWORKMANAGER;

        if (streq(property, "NetworkSource"))
                return sd_bus_message_append(reply, "s", network_source_to_string(v->source));
        if (streq(property, "NetworkMetered"))
                return sd_bus_message_append(reply, "s",
                                             network_metered_to_string(nm ? v->metered : NETWORK_METERED_UNKNOWN));
        return sd_bus_message_append(reply, "s", network_connectivity_to_string(nm ? v->connectivity
                                                                                      : NETWORK_CONNECTIVITY_UNKNOWN));
}

/* The settings of the whole daemon are for its administrator only. */
static int read_admin_value(Bus *b, sd_bus_message *value, const char *property, char type, void *ret,
                            sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_access_get_caller_uid(b, value, &uid);
        if (r < 0)
                return r;
        if (!bus_access_is_admin(b, value, uid))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root or an administrator polkit allows "
                                         "(org.xferd.Transfer1.configure) may change %s.", property);
        return sd_bus_message_read_basic(value, type, ret);
}

static int property_set_max_background(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        uint32_t n;
        int r;

        r = read_admin_value(b, value, property, 'u', &n, error);
        if (r < 0)
                return r;
        if (n == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "MaxBackgroundTransfers must be at least 1.");
        r = manager_set_max_background_transfers(b->manager, n);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_set_background_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        uint64_t n;
        int r;

        r = read_admin_value(b, value, property, 't', &n, error);
        if (r < 0)
                return r;
        r = manager_set_background_bandwidth_limit(b->manager, n);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_get_bytes_from(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        return sd_bus_message_append(reply, "t", streq(property, "BytesFromCache")
                                                         ? manager_get_bytes_from_cache(b->manager)
                                                         : manager_get_bytes_from_origin(b->manager));
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateJob",
                                SD_BUS_ARGS("s", display_name, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", job),
                                method_create_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Download",
                                SD_BUS_ARGS("s", url, "s", local_path, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", job),
                                method_download, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetJob",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("o", job),
                                method_get_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs",
                                SD_BUS_ARGS("b", all_users),
                                SD_BUS_RESULT("a(ssssutto)", jobs),
                                method_list_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("JobNew", SD_BUS_ARGS("s", id, "o", job), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobRemoved", SD_BUS_ARGS("s", id, "o", job, "s", final_state), 0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_WRITABLE_PROPERTY("MaxBackgroundTransfers", "u", property_get_max_background,
                                 property_set_max_background, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("BackgroundBandwidthLimit", "t", property_get_background_limit,
                                 property_set_background_limit, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("DefaultCostPolicy", "s", property_get_default_cost_policy, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NetworkSource", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkMetered", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkConnectivity", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Totals that move with every byte: read, not announced. */
        SD_BUS_PROPERTY("BytesFromCache", "t", property_get_bytes_from, 0, 0),
        SD_BUS_PROPERTY("BytesFromOrigin", "t", property_get_bytes_from, 0, 0),
        SD_BUS_VTABLE_END
};
