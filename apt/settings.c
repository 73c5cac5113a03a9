/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "settings.h"
#include "util.h"


/* apt's QuoteString() writes "%XX" for the characters it must not send as they are. */
static char *dequote(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char) s[i + 1]) && isxdigit((unsigned char) s[i + 2])) {
                        char hex[3] = { s[i + 1], s[i + 2], 0 };
                        *o++ = (char) strtoul(hex, NULL, 16);
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

int config_from_message(Config *c, const Message *m) {
        assert(c);
        assert(m);

        for (size_t i = 0; i < m->fields.n; i++) {
                const char *v = m->fields.items[i].value, *eq;
                int r;

                if (strcasecmp(m->fields.items[i].name, "Config-Item") != 0)
                        continue;
                eq = strchr(v, '=');
                if (!eq)
                        return -EBADMSG;
                r = field_list_take(&c->items, dequote(v, (size_t) (eq - v)), dequote(eq + 1, strlen(eq + 1)));
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *config_get(const Config *c, const char *name) {
        assert(c);
        assert(name);

        return field_list_get(&c->items, name, true);
}

void config_done(Config *c) {
        assert(c);

        field_list_done(&c->items);
}

/* The first of Acquire::<scope>::<key> over the scopes that is set and not empty. */
static const char *find_scoped(const Config *c, const char *const *scopes, const char *key) {
        for (size_t i = 0; scopes[i]; i++) {
                char name[256];
                const char *v;

                snprintf(name, sizeof name, "Acquire::%s::%s", scopes[i], key);
                v = config_get(c, name);
                if (!isempty(v))
                        return v;
        }
        return NULL;
}

static void warn(char **warnings, const char *fmt, ...) _printf_(2, 3);
static void warn(char **warnings, const char *fmt, ...) {
        char *line, *joined;
        va_list ap;
        int n;

        if (!warnings)
                return;
        va_start(ap, fmt);
        n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (asprintf(&joined, "%s%s%s", strempty(*warnings), *warnings ? "\n" : "", line) >= 0) {
                free(*warnings);
                *warnings = joined;
        }
        free(line);
}

static bool config_bool(const Config *c, const char *name, bool def) {
        const char *v = config_get(c, name);
        bool b;

        if (isempty(v) || parse_bool(v, &b) < 0)
                return def;
        return b;
}

/* A whole number of seconds as apt reads one (strtol, leading digits). */
static bool parse_apt_seconds(const char *v, uint64_t *ret) {
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 0);
        if (end == v || errno != 0 || n <= 0)
                return false;
        *ret = (uint64_t) n * USEC_PER_SEC;
        return true;
}

static const char *const priorities[] = { "foreground", "high", "normal", "low", NULL };
static const char *const cost_policies[] = { "always", "unmetered", NULL };

static bool one_of(const char *v, const char *const *list) {
        for (size_t i = 0; list[i]; i++)
                if (streq(v, list[i]))
                        return true;
        return false;
}

int settings_resolve(Settings *s, const Config *c, const char *binary, char **warnings) {
        const char *scheme, *v;
        char name[128];

        assert(s);
        assert(c);
        assert(binary);

        /* "xferd+https" → own scopes xferd+https, xferd; apt's https, then http. */
        scheme = strchr(binary, '+') ? strchr(binary, '+') + 1 : "http";
        const char *const own[] = { binary, "xferd", NULL };
        const char *const apt_http[] = { binary, "xferd", scheme, "http", NULL };

        *s = (Settings) {
                .drop_privileges = !config_bool(c, "Debug::NoDropPrivs", false),
                .timeout_usec = SETTINGS_DEFAULT_TIMEOUT_SEC * USEC_PER_SEC,
                .start_timeout_usec = SETTINGS_DEFAULT_START_TIMEOUT_SEC * USEC_PER_SEC,
        };

        s->sandbox_user = strdup(strempty(config_get(c, "APT::Sandbox::User")));
        if (!s->sandbox_user)
                return -ENOMEM;

        snprintf(name, sizeof name, "Debug::Acquire::%s", binary);
        s->debug = config_bool(c, name, config_bool(c, "Debug::Acquire::xferd", false));

        v = find_scoped(c, own, "Priority");
        if (v && !one_of(v, priorities)) {
                warn(warnings, "Acquire::xferd::Priority \"%s\" is not one of foreground, high, normal, low; "
                     "using %s", v, SETTINGS_DEFAULT_PRIORITY);
                v = NULL;
        }
        s->priority = strdup(v ? v : SETTINGS_DEFAULT_PRIORITY);
        if (!s->priority)
                return -ENOMEM;

        v = find_scoped(c, own, "CostPolicy");
        if (v && !one_of(v, cost_policies)) {
                warn(warnings, "Acquire::xferd::CostPolicy \"%s\" is not one of always, unmetered; "
                     "using xferd's default", v);
                v = NULL;
        }
        if (v && !(s->cost_policy = strdup(v)))
                return -ENOMEM;

        v = find_scoped(c, own, "BandwidthLimit");
        if (v) {
                if (parse_size(v, &s->bandwidth_limit) < 0) {
                        warn(warnings, "Acquire::xferd::BandwidthLimit \"%s\" is not a byte count "
                             "(such as 500K or 2M); no limit", v);
                        s->bandwidth_limit = 0;
                }
        } else {
                /* apt's own limit, in KiB/s. */
                const char *const http_only[] = { scheme, "http", NULL };
                uint64_t kib;

                v = find_scoped(c, http_only, "Dl-Limit");
                if (v && parse_size(v, &kib) == 0 && kib <= UINT64_MAX / 1024)
                        s->bandwidth_limit = kib * 1024;
        }

        v = find_scoped(c, apt_http, "Timeout");
        if (v && !parse_apt_seconds(v, &s->timeout_usec)) {
                warn(warnings, "Acquire::xferd::Timeout \"%s\" is not a number of seconds above 0; "
                     "using 30", v);
                s->timeout_usec = SETTINGS_DEFAULT_TIMEOUT_SEC * USEC_PER_SEC;
        }

        v = find_scoped(c, own, "StartTimeout");
        if (v && !parse_apt_seconds(v, &s->start_timeout_usec)) {
                warn(warnings, "Acquire::xferd::StartTimeout \"%s\" is not a number of seconds above 0; "
                     "using 5", v);
                s->start_timeout_usec = SETTINGS_DEFAULT_START_TIMEOUT_SEC * USEC_PER_SEC;
        }
        if (s->start_timeout_usec > s->timeout_usec)
                s->start_timeout_usec = s->timeout_usec;

        v = find_scoped(c, own, "Fallback");
        if (v && parse_bool(v, &s->fallback) < 0) {
                warn(warnings, "Acquire::xferd::Fallback \"%s\" is not a boolean; using false", v);
                s->fallback = false;
        }
        return 0;
}

void settings_done(Settings *s) {
        assert(s);

        free(s->sandbox_user);
        free(s->priority);
        free(s->cost_policy);
        *s = (Settings) { 0 };
}
