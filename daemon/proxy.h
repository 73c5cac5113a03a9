/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which way a request goes: straight to the origin, through a proxy (the daemon's, the job's
 * or the environment's), or through the site's cache. Also the [Network] settings that decide
 * it, and how a proxy URL is shown: credentials in it are secrets, so it is shown without its
 * userinfo everywhere (properties, logs, errors). Pure logic: no I/O. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#define PROXY_DIRECT "direct"
#define PROXY_CACHE_FALLBACK_DEFAULT_SEC 30

typedef struct ProxySettings {
        char *proxy;                    /* NULL: the environment's; "direct"; or a URL */
        char *no_proxy;                 /* hosts always reached directly; NULL for none */
        char *cache_host;               /* host:port of the site's caching proxy; NULL for none */
        char *cache_url;                /* "http://" cache_host, what curl is given */
        uint64_t cache_fallback_usec;   /* the cache fails or is silent this long → origin; 0 never */
        char *ca_file;                  /* extra trusted CA certificates; NULL for none */
} ProxySettings;

void proxy_settings_init(ProxySettings *s);
void proxy_settings_done(ProxySettings *s);
/* Copies every string, for a configuration that outlives the settings file's. */
int proxy_settings_copy(const ProxySettings *from, ProxySettings *to);

/* Setters that check the value first: -EINVAL (nothing changed) for a value that is not
 * allowed. An empty value unsets. The error never needs to quote the value: see
 * proxy_describe_*. */
int proxy_settings_set_proxy(ProxySettings *s, const char *value);
int proxy_settings_set_no_proxy(ProxySettings *s, const char *value);
int proxy_settings_set_cache_host(ProxySettings *s, const char *value);
int proxy_settings_set_ca_file(ProxySettings *s, const char *value);

/* A proxy value (the Proxy setting, a job's Proxy property): empty (the default), "direct",
 * or an http:// or https:// URL of a proxy: a host, an optional port and userinfo, no path. */
bool proxy_value_is_valid(const char *value);
/* What to say about an invalid one (never the value itself: it may hold a password). */
extern const char proxy_describe_value[];
/* "host:port" with a port from 1 to 65535. */
bool proxy_cache_host_is_valid(const char *value);
extern const char proxy_describe_cache_host[];
/* Entries separated by commas or spaces: host names and domains (".example.com" or
 * "example.com": the name and every name under it), IP addresses, address/prefix-length
 * blocks, or "*" for every host. */
bool proxy_no_proxy_is_valid(const char *value);
extern const char proxy_describe_no_proxy[];

/* Whether host (as in a URL: a name, an IPv4 address or an IPv6 address, with or without
 * brackets) is in the list. */
bool proxy_no_proxy_matches(const char *list, const char *host);

/* value without the userinfo of its URL ("http://user:pw@proxy:3128" →
 * "http://proxy:3128"); other values as they are. NULL on allocation failure. */
char *proxy_redact(const char *value);
/* Whether value is a URL with userinfo. */
bool proxy_has_credentials(const char *value);

typedef enum ProxyRouteKind {
        PROXY_ROUTE_ENVIRONMENT,        /* curl reads http_proxy, https_proxy, no_proxy itself */
        PROXY_ROUTE_DIRECT,
        PROXY_ROUTE_PROXY,              /* through a proxy; https through it with CONNECT */
        PROXY_ROUTE_CACHE,              /* through the site's cache: its bytes count as from the cache */
} ProxyRouteKind;

typedef struct ProxyRoute {
        ProxyRouteKind kind;
        const char *proxy;              /* PROXY and CACHE: the proxy's URL (settings' or job_proxy's) */
} ProxyRoute;

/* The route of a request for url. job_proxy: the job's Proxy (NULL or empty: the settings'),
 * which when set replaces the daemon's proxy and the cache for that job. skip_cache: this
 * file already fell back from the cache to the origin. NoProxy hosts are always reached
 * directly; https:// never goes through the cache (a proxy can only tunnel it). -EINVAL
 * when url has no http(s) scheme or host. */
int proxy_route(const ProxySettings *s, const char *job_proxy, const char *url, bool skip_cache,
                ProxyRoute *ret);

/* Whether a request through the cache failed so that the file should go on from the origin:
 * curl's result (the cache unreachable, silent, cut off), the status (5xx from the cache,
 * whoever caused it), or a body that ended early (truncated). A status below 500 is the
 * origin's answer, passed on: not the cache's failure. */
bool proxy_cache_failed(CURLcode code, long status, bool truncated);
