/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status: what the daemon is and believes — its version, its limits, and the network as
 * NetworkManager tells it, with the reason and what that does to jobs. */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "bus-dict.h"
#include "bus-json.h"
#include "json.h"
#include "names.h"
#include "network-text.h"
#include "report.h"
#include "util.h"
#include "xferctl.h"

typedef struct ManagerFacts {
        char *version;
        char *source, *metered, *connectivity, *default_cost_policy;
        uint32_t max_background;
} ManagerFacts;

static void manager_facts_done(ManagerFacts *f) {
        free(f->version);
        free(f->source);
        free(f->metered);
        free(f->connectivity);
        free(f->default_cost_policy);
}

/* The properties a person is shown; others are skipped (a newer daemon may have more, an
 * older one fewer: missing ones stay NULL). */
static const BusDictField fact_fields[] = {
        { "Version",                BUS_VALUE_STRING, offsetof(ManagerFacts, version) },
        { "NetworkSource",          BUS_VALUE_STRING, offsetof(ManagerFacts, source) },
        { "NetworkMetered",         BUS_VALUE_STRING, offsetof(ManagerFacts, metered) },
        { "NetworkConnectivity",    BUS_VALUE_STRING, offsetof(ManagerFacts, connectivity) },
        { "DefaultCostPolicy",      BUS_VALUE_STRING, offsetof(ManagerFacts, default_cost_policy) },
        { "MaxBackgroundTransfers", BUS_VALUE_U32,    offsetof(ManagerFacts, max_background) },
};

static int print_json(sd_bus_message *reply) {
        _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(stdout, true);
        int r;

        if (!w)
                return report_error(-ENOMEM, "out of memory");
        r = bus_json_append(w, reply);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the daemon's properties");
        r = json_writer_finish(w);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot write JSON");
        return 0;
}

int verb_status(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *summary = NULL, *why = NULL;
        ManagerFacts f = { .version = NULL };
        int r;

        assert(c);
        assert(argv);

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", &error, &reply, "s", XFERD_MANAGER_IFACE);
        if (r < 0)
                return report_bus_error(&error, r, "cannot read the daemon's properties");
        if (c->json)
                return print_json(reply);

        r = bus_dict_read_fields(reply, fact_fields, ELEMENTSOF(fact_fields), &f);
        if (r < 0) {
                manager_facts_done(&f);
                return report_bus_error(NULL, r, "cannot read the daemon's properties");
        }
        NetworkFacts nf = {
                .source = f.source,
                .metered = f.metered,
                .connectivity = f.connectivity,
                .default_cost_policy = f.default_cost_policy,
        };
        r = f.source ? network_status_text(&nf, &summary, &why) : 0;
        if (r < 0) {
                manager_facts_done(&f);
                return report_error(r, "out of memory");
        }

        printf("Version:                %s\n", f.version ? f.version : "?");
        if (summary) {
                printf("Network:                %s\n", summary);
                if (!isempty(why))
                        printf("                        %s\n", why);
        } else
                printf("Network:                (this xferd does not say)\n");
        if (f.default_cost_policy)
                printf("DefaultCostPolicy:      %s\n", f.default_cost_policy);
        if (f.max_background > 0)
                printf("MaxBackgroundTransfers: %" PRIu32 "\n", f.max_background);
        manager_facts_done(&f);
        return 0;
}
