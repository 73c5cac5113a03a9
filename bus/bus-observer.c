/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "bus.h"
#include "log.h"

static Bus *job_bus(Job *j) {
        return manager_get_observer_userdata(j->manager);
}

/* ---- signals -------------------------------------------------------------------------- */

/* PropertiesChanged of a job is built here from the job vtable's own entries:
 * sd_bus_emit_properties_changed_strv() looks every name up in sd-bus's hash tables (hashing
 * the path, interface and name, for the path and each of its prefixes), which took 40 % of the
 * daemon's instructions for 300 small downloads, more than the values themselves. The entry
 * of each name the observer uses (a literal) is found once and remembered by its address. */

/* The properties a state change names that stay zero or empty for most jobs (no error, no
 * retry, nothing from a cache, not transferred yet): one whose value is zero and was zero when
 * the job's last signal carried it did not change, and is left out (an entry of a{sv} costs
 * about 3 000 instructions in sd-bus; these were a third of a small download's). One bit each
 * in Job.zero_told: a new or loaded job has none, so its first signal carries them. */
typedef enum ZeroProperty {
        ZERO_TRANSFER_COMPLETION_TIME,
        ZERO_ERROR_NAME,
        ZERO_ERROR_MESSAGE,
        ZERO_ERROR_COUNT,
        ZERO_NEXT_RETRY_TIME,
        ZERO_BYTES_FROM_CACHE,
        ZERO_BYTES_FROM_ORIGIN,
        _ZERO_PROPERTY_MAX,
        _ZERO_PROPERTY_NONE = -1,
} ZeroProperty;

static const char *const zero_property_names[_ZERO_PROPERTY_MAX] = {
        [ZERO_TRANSFER_COMPLETION_TIME] = "TransferCompletionTime",
        [ZERO_ERROR_NAME] = "ErrorName",
        [ZERO_ERROR_MESSAGE] = "ErrorMessage",
        [ZERO_ERROR_COUNT] = "ErrorCount",
        [ZERO_NEXT_RETRY_TIME] = "NextRetryTime",
        [ZERO_BYTES_FROM_CACHE] = "BytesFromCache",
        [ZERO_BYTES_FROM_ORIGIN] = "BytesFromOrigin",
};

_Static_assert(_ZERO_PROPERTY_MAX <= 8, "Job.zero_told has 8 bits");

/* Whether the property's value, as its getter gives it, is zero or empty. */
static bool zero_property_is_zero(const Job *j, ZeroProperty p) {
        switch (p) {
        case ZERO_TRANSFER_COMPLETION_TIME:
                return j->completion_time == 0;
        case ZERO_ERROR_NAME:
                return !j->error_name;
        case ZERO_ERROR_MESSAGE:
                return isempty(j->error_message);
        case ZERO_ERROR_COUNT:
                return j->error_count == 0;
        case ZERO_NEXT_RETRY_TIME:
                return job_next_retry_time(j) == 0;
        case ZERO_BYTES_FROM_CACHE:
                return j->bytes_from_cache == 0;
        case ZERO_BYTES_FROM_ORIGIN:
                return j->bytes_from_origin == 0;
        default:
                return false;
        }
}

typedef struct JobPropertyEntry {
        const char *name;
        const sd_bus_vtable *v;
        ZeroProperty zero;      /* which of the above, or _ZERO_PROPERTY_NONE */
} JobPropertyEntry;

static const JobPropertyEntry *job_property(const char *name) {
        static JobPropertyEntry known[64];
        static size_t n_known = 0;
        ZeroProperty zero = _ZERO_PROPERTY_NONE;

        for (size_t i = 0; i < n_known; i++)
                if (known[i].name == name)
                        return &known[i];
        for (ZeroProperty p = 0; p < _ZERO_PROPERTY_MAX; p++)
                if (streq(zero_property_names[p], name))
                        zero = p;
        for (const sd_bus_vtable *v = bus_job_vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if ((v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
                    streq(v->x.property.member, name)) {
                        if (n_known >= ELEMENTSOF(known))
                                return NULL;  /* never: the observer names fewer */
                        known[n_known] = (JobPropertyEntry) { .name = name, .v = v, .zero = zero };
                        return &known[n_known++];
                }
        return NULL;
}

/* A dictionary entry (signature `entry`) opened for the key `name` (a literal property or
 * interface name: known text), and its value's container (`type`, holding `contents`): the
 * caller appends what it holds, then entry_close(). */
static int entry_open(sd_bus_message *m, const char *entry, const char *name, char type, const char *contents) {
        int r = sd_bus_message_open_container(m, 'e', entry);

        if (r >= 0)
                r = bus_append_known_text(m, name, NULL);
        if (r >= 0)
                r = sd_bus_message_open_container(m, type, contents);
        return r;
}

static int entry_close(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);

        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* What sd-bus would append for the property: its getter's value, or for a property read from
 * the Job at an offset, the fixed-size value there (the only such ones that announce a value). */
static int append_job_property(sd_bus *bus, sd_bus_message *m, const char *path, const sd_bus_vtable *v, Job *j,
                               sd_bus_error *error) {
        const char *sig = v->x.property.signature;
        int r;

        if (!v->x.property.get && !(streq(sig, "t") || streq(sig, "u")))
                return -EOPNOTSUPP;
        r = entry_open(m, "sv", v->x.property.member, 'v', sig);
        if (r >= 0)
                /* As sd-bus does: a getter gets the object's data plus the entry's offset. */
                r = v->x.property.get ? v->x.property.get(bus, path, XFERD_JOB_IFACE, v->x.property.member, m,
                                                          (uint8_t *) j + v->x.property.offset, error)
                                      : sd_bus_message_append_basic(m, sig[0], (uint8_t *) j + v->x.property.offset);
        return r < 0 ? r : entry_close(m);
}

/* The signal, and in *ret_zero_told the job's zero_told once it is sent. */
static int build_changed(sd_bus *bus, const char *path, Job *j, char **names, sd_bus_message **ret,
                         uint8_t *ret_zero_told) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *invalidated[40];
        size_t n_invalidated = 0;
        uint8_t zero_told = j->zero_told;
        int r;

        r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r >= 0)
                r = bus_append_known_text(m, XFERD_JOB_IFACE, NULL);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (char **name = names; r >= 0 && *name; name++) {
                const JobPropertyEntry *e = job_property(*name);
                const sd_bus_vtable *v;

                if (!e)
                        return -ENOENT;
                if (e->zero != _ZERO_PROPERTY_NONE) {
                        uint8_t bit = (uint8_t) (1u << e->zero);

                        if (!zero_property_is_zero(j, e->zero))
                                zero_told &= (uint8_t) ~bit;
                        else if (zero_told & bit)
                                continue;  /* zero, as last told: unchanged */
                        else
                                zero_told |= bit;
                }
                v = e->v;
                if (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION) {
                        if (n_invalidated >= ELEMENTSOF(invalidated))
                                return -E2BIG;
                        invalidated[n_invalidated++] = *name;
                } else if (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
                        r = append_job_property(bus, m, path, v, j, &error);
                else
                        return -EOPNOTSUPP;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n_invalidated; i++)
                r = bus_append_known_text(m, invalidated[i], NULL);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        *ret_zero_told = zero_told;
        return 0;
}

static void emit_changed(Job *j, char **names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Bus *b = job_bus(j);
        BusJobPath path = bus_job_path(j);
        uint8_t zero_told = 0;
        int r;

        r = build_changed(b->bus, path.s, j, names, &m, &zero_told);
        if (r >= 0)
                r = sd_bus_send(b->bus, m, NULL);
        else  /* a property this does not know how to announce: sd-bus's own way, every name */
                r = sd_bus_emit_properties_changed_strv(b->bus, path.s, XFERD_JOB_IFACE, names);
        /* Not sent: the next signal carries them all again. */
        j->zero_told = r >= 0 ? zero_told : 0;
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for job %s", j->id);
}

static void observer_job_changed(Manager *m, Job *j, unsigned changes) {
        char *names[40];
        size_t n = 0;

#define ADD(s) names[n++] = (char *) (s)
        if (changes & JOB_CHANGE_STATE) {
                ADD("State");
                ADD("ModificationTime");
                ADD("TransferCompletionTime");
                ADD("ErrorName");
                ADD("ErrorMessage");
                ADD("ErrorCount");
                ADD("NextRetryTime");
        }
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_FILES)) {
                ADD("BytesTransferred");
                ADD("BytesTotal");
                ADD("FilesTransferred");
                ADD("FilesTotal");
                ADD("CurrentFile");
                ADD("Rate");
                ADD("ExpectedEndTime");
                ADD("BytesFromCache");
                ADD("BytesFromOrigin");
        }
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_WAIT))
                ADD("WaitReason");
        if (changes & JOB_CHANGE_SETTINGS) {
                ADD("Priority");
                ADD("CostPolicy");
                ADD("AutoComplete");
                ADD("BandwidthLimit");
                ADD("AllowInsecureRedirect");
                ADD("MinimumRetryDelay");
                ADD("NoProgressTimeout");
                ADD("MinimumNotificationInterval");
                ADD("HttpHeaderNames");
                ADD("CancelWhenOwnerGone");
                ADD("Proxy");
                ADD("MaxConcurrentFiles");
        }
        if (changes & JOB_CHANGE_UPLOAD_URL)
                ADD("UploadUrl");
        if (changes & JOB_CHANGE_TEXT) {
                ADD("DisplayName");
                ADD("Description");
        }
#undef ADD
        names[n] = NULL;
        if (n > 0)
                emit_changed(j, names);
}

/* One entry of a{sv}: the name and a basic value of type `type` (a string: an id or a name
 * from a table, known text). */
static int append_entry(sd_bus_message *m, const char *name, char type, const void *value) {
        const char sig[2] = { type, 0 };
        int r = entry_open(m, "sv", name, 'v', sig);

        if (r >= 0)
                r = type == 's' ? bus_append_known_text(m, value, NULL) : sd_bus_message_append_basic(m, type, value);
        return r < 0 ? r : entry_close(m);
}

/* An interface of InterfacesAdded; the Job interface with its constant properties and state. */
static int append_interface(sd_bus_message *m, const char *iface, const Job *j) {
        uint32_t owner = j ? (uint32_t) j->owner : 0;
        int r;

        r = entry_open(m, "sa{sv}", iface, 'a', "{sv}");
        if (r >= 0 && j) {
                r = append_entry(m, "Id", 's', j->id);
                if (r >= 0)
                        r = append_entry(m, "Type", 's', job_type_to_string(j->type));
                if (r >= 0)
                        r = append_entry(m, "Owner", 'u', &owner);
                if (r >= 0)
                        r = append_entry(m, "State", 's', job_state_to_string(j->state));
                if (r >= 0)
                        r = append_entry(m, "CreationTime", 't', &j->creation_time);
        }
        return r < 0 ? r : entry_close(m);
}

static int emit_job_new(sd_bus *bus, const Job *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        BusJobPath path = bus_job_path(j);
        int r;

        r = sd_bus_message_new_signal(bus, &s, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew");
        if (r >= 0)
                r = bus_append_known_text(s, j->id, NULL);
        if (r >= 0)
                r = sd_bus_message_append_basic(s, 'o', path.s);
        if (r >= 0)
                r = sd_bus_send(bus, s, NULL);
        return r;
}

/* InterfacesAdded is built by hand: sd-bus would put every property's value in it, names and
 * descriptions included, and this signal is broadcast. Both signals with append_basic (see
 * bus-job.c). */
static void observer_job_new(Manager *m, Job *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        Bus *b = job_bus(j);
        BusJobPath path = bus_job_path(j);
        int r;

        r = sd_bus_message_new_signal(b->bus, &s, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                      "InterfacesAdded");
        if (r >= 0)
                r = sd_bus_message_append_basic(s, 'o', path.s);
        if (r >= 0)
                r = sd_bus_message_open_container(s, 'a', "{sa{sv}}");
        if (r >= 0)
                r = append_interface(s, "org.freedesktop.DBus.Peer", NULL);
        if (r >= 0)
                r = append_interface(s, "org.freedesktop.DBus.Introspectable", NULL);
        if (r >= 0)
                r = append_interface(s, "org.freedesktop.DBus.Properties", NULL);
        if (r >= 0)
                r = append_interface(s, XFERD_JOB_IFACE, j);
        if (r >= 0)
                r = sd_bus_message_close_container(s);
        if (r >= 0)
                r = sd_bus_send(b->bus, s, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit InterfacesAdded for job %s", j->id);

        r = emit_job_new(b->bus, j);
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobNew for job %s", j->id);
}

static void observer_job_transferred(Manager *m, Job *j) {
        int r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_IFACE, "Transferred", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit Transferred for job %s", j->id);
}

static void observer_job_failed(Manager *m, Job *j) {
        char buf[128];
        int r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_IFACE, "Failed", "ss",
                                   bus_job_error_name(j, buf, sizeof buf), strempty(j->error_summary));
        if (r < 0)
                log_warning_errno(r, "Failed to emit Failed for job %s", j->id);
}

static void observer_job_removed(Manager *m, Job *j) {
        int r = sd_bus_emit_signal(job_bus(j)->bus, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobRemoved",
                                   "sos", j->id, bus_job_path(j).s, job_state_to_string(j->state));
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobRemoved for job %s", j->id);
}

static void observer_job_gone(Manager *m, Job *j) {
        int r = sd_bus_emit_object_removed(job_bus(j)->bus, bus_job_path(j).s);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for job %s", j->id);
}

static void observer_network_changed(Manager *m) {
        Bus *b = manager_get_observer_userdata(m);
        int r = sd_bus_emit_properties_changed(b->bus, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "NetworkSource",
                                               "NetworkMetered", "NetworkConnectivity", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for the network");
}

static void observer_batch_closed(Manager *m, int r, const CallError *e) {
        bus_batch_closed(manager_get_observer_userdata(m), r, e);
}

static void observer_idle_changed(Manager *m, bool idle) {
        Bus *b = manager_get_observer_userdata(m);

        if (b->idle_changed)
                b->idle_changed(b->idle_userdata, idle);
}

const ManagerObserver bus_observer_template = {
        .idle_changed = observer_idle_changed,
        .batch_closed = observer_batch_closed,
        .network_changed = observer_network_changed,
        .job_new = observer_job_new,
        .job_changed = observer_job_changed,
        .job_transferred = observer_job_transferred,
        .job_failed = observer_job_failed,
        .job_removed = observer_job_removed,
        .job_gone = observer_job_gone,
};
