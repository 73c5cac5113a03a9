/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Job interface: its properties, read and written, and its vtable. The objects themselves
 * (found by path, enumerated) are bus-job-objects.c's. */
#include <stddef.h>
#include <stdio.h>

#include "bus-errors.h"
#include "bus.h"
#include "listed-file.h"
#include "url-strip.h"

/* A property that is a plain field has no getter: its vtable entry carries the field's offset
 * and sd-bus reads the field itself (a NULL string as ""). sd-bus then hands the getter or
 * setter of that entry a pointer to the field, not to the job; the types must be the ones
 * sd-bus reads for the signature. */
#define assert_field_type(field, type) \
        _Static_assert(__builtin_types_compatible_p(__typeof__(((Job *) NULL)->field), type), \
                       "Job." #field " must be " #type " for its property")
assert_field_type(owner, uid_t);
_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "Owner is a 'u'");
assert_field_type(display_name, char *);
assert_field_type(description, char *);
assert_field_type(bandwidth_limit, uint64_t);
assert_field_type(creation_time, uint64_t);
assert_field_type(modification_time, uint64_t);
assert_field_type(completion_time, uint64_t);
assert_field_type(error_message, char *);
assert_field_type(error_count, uint32_t);
assert_field_type(minimum_retry_delay, uint32_t);
assert_field_type(no_progress_timeout, uint32_t);
assert_field_type(bytes_from_cache, uint64_t);
assert_field_type(bytes_from_origin, uint64_t);
assert_field_type(auto_complete, bool);
assert_field_type(allow_insecure_redirect, bool);

static Job *job_from_field(void *field, size_t offset) {
        return (Job *) ((uint8_t *) field - offset);
}

const char *bus_job_error_name(const Job *j, char *buf, size_t size) {
        assert(j);
        assert(buf);

        if (!j->error_name)
                return "";
        /* As stored: a name the table no longer has still reads as it was. */
        snprintf(buf, size, XFERD_ERROR_PREFIX "%s", j->error_name);
        return buf;
}

/* Values appended with sd_bus_message_append_basic(): sd_bus_message_append() parses its format
 * for every value, which cost more than the value itself in each job's PropertiesChanged. */
static int append_string(sd_bus_message *m, const char *s) {
        return sd_bus_message_append_basic(m, 's', s);
}

/* An id or a name from a table: ASCII, no UTF-8 check needed (bus_append_known_text()). */
static int append_token(sd_bus_message *m, const char *s) {
        return bus_append_known_text(m, s, NULL);
}

static int append_u64(sd_bus_message *m, uint64_t v) {
        return sd_bus_message_append_basic(m, 't', &v);
}

static int append_u32(sd_bus_message *m, uint32_t v) {
        return sd_bus_message_append_basic(m, 'u', &v);
}

static int append_bool(sd_bus_message *m, bool b) {
        int v = b;
        return sd_bus_message_append_basic(m, 'b', &v);
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_token(reply, j->id);
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_token(reply, job_type_to_string(j->type));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_token(reply, job_state_to_string(j->state));
}

static int property_get_priority(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_token(reply, job_priority_to_string(j->priority));
}

static int property_get_cost_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_token(reply, cost_policy_to_string(j->cost_policy));
}

/* A bool field at the entry's offset: sd-bus itself would read an int there. */
static int property_get_bool_field(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const bool *b = userdata;
        return append_bool(reply, *b);
}

static int property_get_bytes_total(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_u64(reply, job_counts(userdata).bytes_total);
}

static int property_get_bytes_transferred(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        return append_u64(reply, job_counts(userdata).bytes_transferred);
}

static int property_get_files_total(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        return append_u32(reply, (uint32_t) j->n_files);
}

static int property_get_files_transferred(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        return append_u32(reply, job_counts(userdata).files_transferred);
}

static int property_get_rate(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_u64(reply, job_rate(userdata));
}

static int property_get_expected_end_time(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        return append_u64(reply, job_expected_end_time(userdata));
}

static int property_get_next_retry_time(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_u64(reply, job_next_retry_time(userdata));
}

static int property_get_wait_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_token(reply, job_wait_reason(userdata));
}

static int property_get_current_file(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_u32(reply, job_current_file(userdata));
}

static int property_get_error_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        char buf[128];

        /* The name as stored is checked: what a store holds is not known text. */
        if (!j->error_name)
                return append_token(reply, "");
        return append_string(reply, bus_job_error_name(j, buf, sizeof buf));
}

static int property_get_header_names(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (char **h = j->http_headers; r >= 0 && h && *h; h++) {
                const char *colon = strchr(*h, ':');
                _cleanup_free_ char *name = strndup(*h, colon ? (size_t) (colon - *h) : strlen(*h));
                if (!name)
                        return -ENOMEM;
                r = append_string(reply, name);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* Without the userinfo: a proxy's credentials are never returned. */
static int property_get_proxy(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        _cleanup_free_ char *shown = proxy_redact(j->proxy);

        if (!shown)
                return -ENOMEM;
        return append_string(reply, shown);
}

/* Stripped like every URL xferd shows: a relative Location keeps the creation URL's
 * "user:password@", which the upload's own requests need and nobody reads back. */
static int property_get_upload_url(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;

        return append_string(reply, URL_SHOWN(strempty(j->upload_url)));
}

static int set_result(int r, const CallError *e, sd_bus_error *error) {
        return r < 0 ? bus_error_from_call(error, r, e) : 0;
}

/* Each writable property reads one value and hands it to its job_set_*() call. */
static int set_string(sd_bus_message *value, Job *j, int (*set)(Job *, const char *, CallError *),
                      sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        const char *s;
        int r;

        r = sd_bus_message_read(value, "s", &s);
        if (r < 0)
                return r;
        return set_result(set(j, s, &e), &e, error);
}

static int set_bool(sd_bus_message *value, Job *j, int (*set)(Job *, bool, CallError *), sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        int b, r;

        r = sd_bus_message_read(value, "b", &b);
        if (r < 0)
                return r;
        return set_result(set(j, b, &e), &e, error);
}

static int set_seconds(sd_bus_message *value, Job *j, int (*set)(Job *, uint32_t, CallError *),
                       sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        uint32_t u;
        int r;

        r = sd_bus_message_read(value, "u", &u);
        if (r < 0)
                return r;
        return set_result(set(j, u, &e), &e, error);
}

static int property_set_display_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return set_string(value, job_from_field(userdata, offsetof(Job, display_name)), job_set_display_name, error);
}

static int property_set_description(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return set_string(value, job_from_field(userdata, offsetof(Job, description)), job_set_description, error);
}

/* The value a priority or cost policy is set to: the name parsed, or, for a final job, the
 * current value, so that the setter says the job is final first, whatever the name. */
static int read_choice(sd_bus_message *value, const Job *j, int (*parse)(const char *s, sd_bus_error *error),
                       int current, sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read(value, "s", &s);
        if (r < 0)
                return r;
        return job_state_is_final(j->state) ? current : parse(s, error);
}

static int property_set_priority(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *value, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        Job *j = userdata;
        int r = read_choice(value, j, bus_options_parse_priority, j->priority, error);

        if (r < 0)
                return r;
        return set_result(job_set_priority(j, r, &e), &e, error);
}

static int property_set_cost_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *value, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        Job *j = userdata;
        int r = read_choice(value, j, bus_options_parse_cost_policy, j->cost_policy, error);

        if (r < 0)
                return r;
        return set_result(job_set_cost_policy(j, r, &e), &e, error);
}

static int property_set_auto_complete(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return set_bool(value, job_from_field(userdata, offsetof(Job, auto_complete)), job_set_auto_complete, error);
}

static int property_set_allow_insecure_redirect(sd_bus *bus, const char *path, const char *interface,
                                                const char *property, sd_bus_message *value, void *userdata,
                                                sd_bus_error *error) {
        return set_bool(value, job_from_field(userdata, offsetof(Job, allow_insecure_redirect)),
                        job_set_allow_insecure_redirect, error);
}

static int property_set_bandwidth_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Job *j = job_from_field(userdata, offsetof(Job, bandwidth_limit));
        CallError e = { .kind = CALL_ERROR_NONE };
        uint64_t t;
        int r;

        r = sd_bus_message_read(value, "t", &t);
        if (r < 0)
                return r;
        return set_result(job_set_bandwidth_limit(j, t, &e), &e, error);
}

static int property_set_minimum_notification_interval(sd_bus *bus, const char *path, const char *interface,
                                                      const char *property, sd_bus_message *value, void *userdata,
                                                      sd_bus_error *error) {
        return set_seconds(value, job_from_field(userdata, offsetof(Job, minimum_notification_interval)),
                           job_set_minimum_notification_interval, error);
}

static int property_set_max_concurrent_files(sd_bus *bus, const char *path, const char *interface,
                                             const char *property, sd_bus_message *value, void *userdata,
                                             sd_bus_error *error) {
        return set_seconds(value, job_from_field(userdata, offsetof(Job, max_concurrent_files)),
                           job_set_max_concurrent_files, error);
}

static int property_set_proxy(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return set_string(value, userdata, job_set_proxy, error);
}

static int property_set_minimum_retry_delay(sd_bus *bus, const char *path, const char *interface,
                                            const char *property, sd_bus_message *value, void *userdata,
                                            sd_bus_error *error) {
        return set_seconds(value, job_from_field(userdata, offsetof(Job, minimum_retry_delay)),
                           job_set_minimum_retry_delay, error);
}

static int property_set_no_progress_timeout(sd_bus *bus, const char *path, const char *interface,
                                            const char *property, sd_bus_message *value, void *userdata,
                                            sd_bus_error *error) {
        return set_seconds(value, job_from_field(userdata, offsetof(Job, no_progress_timeout)),
                           job_set_no_progress_timeout, error);
}

static int property_get_cancel_when_owner_gone(sd_bus *bus, const char *path, const char *interface,
                                               const char *property, sd_bus_message *reply, void *userdata,
                                               sd_bus_error *error) {
        const Job *j = userdata;
        return append_bool(reply, j->cancel_with != NULL);
}

/* true binds the job to the connection that writes it (see bus-owner.c), false unbinds it. */
static int property_set_cancel_when_owner_gone(sd_bus *bus, const char *path, const char *interface,
                                               const char *property, sd_bus_message *value, void *userdata,
                                               sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_free_ char *binding = NULL;
        Job *j = userdata;
        int b, r;

        r = sd_bus_message_read(value, "b", &b);
        if (r < 0)
                return r;
        if (b) {
                r = bus_owner_binding(manager_get_observer_userdata(j->manager), sd_bus_get_current_message(bus),
                                      &binding);
                if (r == -EINVAL)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "CancelWhenOwnerGone needs a caller with a unique bus name.");
                if (r < 0)
                        return r;
        }
        return set_result(job_set_cancel_with(j, binding, &e), &e, error);
}

/* Names, paths and messages may be private: their values never travel in broadcasts, so their
 * changes are announced as invalidations only. */
const sd_bus_vtable bus_job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AddFile", SD_BUS_ARGS("s", url, "s", local_path), SD_BUS_NO_RESULT,
                                bus_job_method_add_file, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddFiles", SD_BUS_ARGS("a(ss)", files), SD_BUS_NO_RESULT,
                                bus_job_method_add_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddFileWithOptions", SD_BUS_ARGS("s", url, "s", local_path, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_job_method_add_file_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", NULL, NULL, bus_job_method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Suspend", NULL, NULL, bus_job_method_suspend, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", NULL, NULL, bus_job_method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Complete", SD_BUS_NO_ARGS, SD_BUS_RESULT("b", partial),
                                bus_job_method_complete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListFiles", SD_BUS_NO_ARGS, SD_BUS_RESULT("a" LISTED_FILE_SIGNATURE, files),
                                bus_job_method_list_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetFileDetails", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", files),
                                bus_job_method_get_file_details, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetHttpHeaders", SD_BUS_ARGS("as", headers), SD_BUS_NO_RESULT,
                                bus_job_method_set_http_headers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("Transferred", NULL, 0),
        SD_BUS_SIGNAL_WITH_ARGS("Failed", SD_BUS_ARGS("s", error_name, "s", message), 0),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "u", NULL, offsetof(Job, owner), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_WRITABLE_PROPERTY("DisplayName", "s", NULL, property_set_display_name,
                                 offsetof(Job, display_name),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("Description", "s", NULL, property_set_description,
                                 offsetof(Job, description),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("Priority", "s", property_get_priority, property_set_priority, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("CostPolicy", "s", property_get_cost_policy, property_set_cost_policy, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("AutoComplete", "b", property_get_bool_field, property_set_auto_complete,
                                 offsetof(Job, auto_complete),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("BandwidthLimit", "t", NULL, property_set_bandwidth_limit,
                                 offsetof(Job, bandwidth_limit),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("AllowInsecureRedirect", "b", property_get_bool_field,
                                 property_set_allow_insecure_redirect, offsetof(Job, allow_insecure_redirect),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("BytesTotal", "t", property_get_bytes_total, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesTransferred", "t", property_get_bytes_transferred, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FilesTotal", "u", property_get_files_total, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FilesTransferred", "u", property_get_files_transferred, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreationTime", "t", NULL, offsetof(Job, creation_time), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ModificationTime", "t", NULL, offsetof(Job, modification_time),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TransferCompletionTime", "t", NULL, offsetof(Job, completion_time),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorName", "s", property_get_error_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorMessage", "s", NULL, offsetof(Job, error_message),
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("ErrorCount", "u", NULL, offsetof(Job, error_count), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("MinimumRetryDelay", "u", NULL, property_set_minimum_retry_delay,
                                 offsetof(Job, minimum_retry_delay),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("NoProgressTimeout", "u", NULL, property_set_no_progress_timeout,
                                 offsetof(Job, no_progress_timeout),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Rate", "t", property_get_rate, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExpectedEndTime", "t", property_get_expected_end_time, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NextRetryTime", "t", property_get_next_retry_time, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WaitReason", "s", property_get_wait_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CurrentFile", "u", property_get_current_file, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("MinimumNotificationInterval", "u", NULL, property_set_minimum_notification_interval,
                                 offsetof(Job, minimum_notification_interval),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("HttpHeaderNames", "as", property_get_header_names, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("UploadUrl", "s", property_get_upload_url, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_WRITABLE_PROPERTY("CancelWhenOwnerGone", "b", property_get_cancel_when_owner_gone,
                                 property_set_cancel_when_owner_gone, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("Proxy", "s", property_get_proxy, property_set_proxy, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("BytesFromCache", "t", NULL, offsetof(Job, bytes_from_cache),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesFromOrigin", "t", NULL, offsetof(Job, bytes_from_origin),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("MaxConcurrentFiles", "u", NULL, property_set_max_concurrent_files,
                                 offsetof(Job, max_concurrent_files),
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
