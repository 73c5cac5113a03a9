/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the method takes from apt's configuration (the 601 Configuration message). apt sends
 * its whole configuration; the method keeps the items it knows and resolves them the way apt's
 * own methods do: the most specific name wins (Acquire::xferd+https::X, Acquire::xferd::X),
 * and apt's http settings stand in where the method has none of its own. Names are compared
 * without regard to case, as apt does. */

#include <stdbool.h>
#include <stdint.h>

#include "message.h"

typedef struct Config {
        FieldList items;
} Config;

/* Reads every Config-Item of a 601 message ("name=value", both %-encoded by apt). */
int config_from_message(Config *c, const Message *m);
/* The value of the item called name (the last one wins, as in apt), NULL if none. */
const char *config_get(const Config *c, const char *name);
void config_done(Config *c);

#define SETTINGS_DEFAULT_TIMEOUT_SEC 30
#define SETTINGS_DEFAULT_START_TIMEOUT_SEC 5
#define SETTINGS_DEFAULT_PRIORITY "foreground"

typedef struct Settings {
        char *sandbox_user;      /* APT::Sandbox::User; NULL or "" keeps the identity */
        bool drop_privileges;    /* false with Debug::NoDropPrivs */
        bool debug;              /* Debug::Acquire::xferd: log to stderr */
        char *priority;          /* xferd job priority */
        char *cost_policy;       /* NULL: the daemon's default */
        uint64_t bandwidth_limit;/* bytes/s, 0 = none */
        uint64_t timeout_usec;   /* no progress for this long fails an acquire */
        uint64_t start_timeout_usec; /* xferd must answer within this; never above timeout_usec */
        bool fallback;           /* hand acquires to apt's own method when xferd is unavailable */
} Settings;

/* Resolves the settings for the method called binary ("xferd+http" or "xferd+https").
 * Values that cannot be used are replaced by their default; each such case appends a line
 * for the user to *warnings (may be NULL). */
int settings_resolve(Settings *s, const Config *c, const char *binary, char **warnings);
void settings_done(Settings *s);
