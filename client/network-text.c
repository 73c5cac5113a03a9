/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "network-text.h"
#include "util.h"

static const char *metered_words(const char *metered) {
        if (streq_ptr(metered, "yes") || streq_ptr(metered, "guess-yes"))
                return "metered";
        if (streq_ptr(metered, "no") || streq_ptr(metered, "guess-no"))
                return "unmetered";
        return "unmetered (its cost is unknown)";
}

static const char *connectivity_words(const char *connectivity) {
        if (streq_ptr(connectivity, "full"))
                return "full connectivity";
        if (streq_ptr(connectivity, "portal"))
                return "behind a captive portal";
        if (streq_ptr(connectivity, "limited"))
                return "limited connectivity";
        if (streq_ptr(connectivity, "none"))
                return "no connectivity";
        return "connectivity unknown";
}

static int networkmanager_text(const NetworkFacts *f, char **ret_summary, char **ret_why) {
        const char *consequence;

        if (streq_ptr(f->connectivity, "portal"))
                consequence = "No job starts until the portal lets it through (log in to the network); "
                              "failures meanwhile do not count.";
        else if (streq_ptr(f->connectivity, "limited") || streq_ptr(f->connectivity, "none"))
                consequence = "No job starts until NetworkManager reports full connectivity; "
                              "failures meanwhile do not count.";
        else if (streq(metered_words(f->metered), "metered"))
                consequence = "Jobs with CostPolicy=unmetered wait for an unmetered network; "
                              "jobs with CostPolicy=always transfer.";
        else
                consequence = "Every job may transfer.";

        if (asprintf(ret_summary, "%s, %s", metered_words(f->metered), connectivity_words(f->connectivity)) < 0) {
                *ret_summary = NULL;
                return -ENOMEM;
        }
        if (asprintf(ret_why, "NetworkManager says Metered=%s, Connectivity=%s. %s%s%s%s", strempty(f->metered),
                     strempty(f->connectivity), consequence,
                     f->default_cost_policy ? " Background jobs get CostPolicy=" : "",
                     strempty(f->default_cost_policy),
                     f->default_cost_policy ? " unless their creator chose." : "") < 0) {
                *ret_summary = mfree(*ret_summary);
                *ret_why = NULL;
                return -ENOMEM;
        }
        return 0;
}

int network_status_text(const NetworkFacts *f, char **ret_summary, char **ret_why) {
        const char *summary, *why;

        assert(f);
        assert(ret_summary);
        assert(ret_why);

        if (streq_ptr(f->source, "networkmanager"))
                return networkmanager_text(f, ret_summary, ret_why);
        if (streq_ptr(f->source, "absent")) {
                summary = "unmetered, connectivity unknown";
                why = "NetworkManager is not on the system bus (or there is no system bus), so xferd "
                      "treats the network as unmetered with unknown connectivity: every job may transfer.";
        } else if (streq_ptr(f->source, "asking")) {
                summary = "asking NetworkManager";
                why = "A job waits for NetworkManager's answer, which comes within a moment.";
        } else if (streq_ptr(f->source, "not-watching")) {
                summary = "not watched";
                why = "No job is queued or transferring, so xferd does not ask NetworkManager; "
                      "it asks as soon as a job is.";
        } else {
                summary = strempty(f->source);
                why = "";
        }
        *ret_summary = strdup(summary);
        *ret_why = strdup(why);
        if (!*ret_summary || !*ret_why) {
                *ret_summary = mfree(*ret_summary);
                *ret_why = mfree(*ret_why);
                return -ENOMEM;
        }
        return 0;
}
