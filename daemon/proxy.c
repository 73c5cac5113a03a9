/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <strings.h>

#include "proxy.h"
#include "util.h"

#define PROXY_VALUE_MAX 2048

const char proxy_describe_value[] =
        "must be empty (the default), 'direct', or the URL of a proxy: http:// or https://, "
        "a host, an optional port and user:password, no path";
const char proxy_describe_cache_host[] = "must be host:port, the port from 1 to 65535";
const char proxy_describe_no_proxy[] =
        "must be host names, domains, IP addresses or address/prefix blocks separated by commas, "
        "or *";

void proxy_settings_init(ProxySettings *s) {
        assert(s);
        *s = (ProxySettings) { .cache_fallback_usec = PROXY_CACHE_FALLBACK_DEFAULT_SEC * USEC_PER_SEC };
}

void proxy_settings_done(ProxySettings *s) {
        assert(s);
        s->proxy = mfree(s->proxy);
        s->no_proxy = mfree(s->no_proxy);
        s->cache_host = mfree(s->cache_host);
        s->cache_url = mfree(s->cache_url);
        s->ca_file = mfree(s->ca_file);
}

static int copy_string(const char *from, char **to) {
        if (!from) {
                *to = NULL;
                return 0;
        }
        *to = strdup(from);
        return *to ? 0 : -ENOMEM;
}

int proxy_settings_copy(const ProxySettings *from, ProxySettings *to) {
        _cleanup_(proxy_settings_done) ProxySettings c = { .proxy = NULL };

        assert(from);
        assert(to);

        c.cache_fallback_usec = from->cache_fallback_usec;
        if (copy_string(from->proxy, &c.proxy) < 0 || copy_string(from->no_proxy, &c.no_proxy) < 0 ||
            copy_string(from->cache_host, &c.cache_host) < 0 || copy_string(from->cache_url, &c.cache_url) < 0 ||
            copy_string(from->ca_file, &c.ca_file) < 0)
                return -ENOMEM;
        /* Handed over: the cleanup finds nothing left to free. */
        *to = c;
        c = (ProxySettings) { .proxy = NULL };
        return 0;
}

static bool has_space_or_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return true;
        return false;
}

/* The scheme and host of url, lower case; false when it has none. */
static bool url_scheme_host(const char *url, char **ret_scheme, char **ret_host) {
        CURLU *h = curl_url();
        char *scheme = NULL, *host = NULL;
        bool ok = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
                  curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                  curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK;

        curl_url_cleanup(h);
        if (ok) {
                *ret_scheme = strdup(scheme);
                *ret_host = strdup(host);
                ok = *ret_scheme && *ret_host;
                if (!ok) {
                        *ret_scheme = mfree(*ret_scheme);
                        *ret_host = mfree(*ret_host);
                }
        }
        curl_free(scheme);
        curl_free(host);
        if (ok)
                for (char *p = *ret_scheme; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        return ok;
}

bool proxy_value_is_valid(const char *value) {
        if (isempty(value) || streq(value, PROXY_DIRECT))
                return true;
        if (strlen(value) > PROXY_VALUE_MAX || has_space_or_control(value))
                return false;
        if (strncasecmp(value, "http://", 7) != 0 && strncasecmp(value, "https://", 8) != 0)
                return false;

        CURLU *h = curl_url();
        char *host = NULL, *path = NULL, *query = NULL, *fragment = NULL;
        bool ok = h && curl_url_set(h, CURLUPART_URL, value, 0) == CURLUE_OK &&
                  curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && !isempty(host) &&
                  curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
                  (isempty(path) || streq(path, "/")) &&
                  curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_NO_QUERY &&
                  curl_url_get(h, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_NO_FRAGMENT;
        curl_free(host);
        curl_free(path);
        curl_free(query);
        curl_free(fragment);
        curl_url_cleanup(h);
        return ok;
}

/* An IP address (IPv6 with or without brackets) → family and bytes. */
static int parse_ip(const char *s, size_t n, unsigned char addr[16]);

bool proxy_cache_host_is_valid(const char *value) {
        unsigned char addr[16];
        const char *colon;
        size_t n;
        char *end;

        if (isempty(value) || strlen(value) > 255)
                return false;
        colon = strrchr(value, ':');
        if (!colon || colon == value || !isdigit((unsigned char) colon[1]))
                return false;
        n = (size_t) (colon - value);
        if (value[0] == '[') {
                /* An IPv6 address needs its brackets, or its last group would read as the port. */
                if (value[n - 1] != ']' || parse_ip(value, n, addr) != AF_INET6)
                        return false;
        } else
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char) value[i]) && value[i] != '.' && value[i] != '-' &&
                            value[i] != '_')
                                return false;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        return errno == 0 && !*end && port >= 1 && port <= 65535;
}

/* An IP address (IPv6 with or without brackets) → family and bytes. */
static int parse_ip(const char *s, size_t n, unsigned char addr[16]) {
        char buf[INET6_ADDRSTRLEN + 2];

        if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
                s++;
                n -= 2;
        }
        if (n == 0 || n >= sizeof buf)
                return 0;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (inet_pton(AF_INET, buf, addr) == 1)
                return AF_INET;
        if (inet_pton(AF_INET6, buf, addr) == 1)
                return AF_INET6;
        return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits) {
        unsigned whole = bits / 8, rest = bits % 8;

        if (memcmp(a, b, whole) != 0)
                return false;
        if (rest == 0)
                return true;
        unsigned char mask = (unsigned char) (0xff << (8 - rest));
        return (a[whole] & mask) == (b[whole] & mask);
}

typedef enum EntryKind { ENTRY_INVALID, ENTRY_ANY, ENTRY_NAME, ENTRY_IP, ENTRY_BLOCK } EntryKind;

/* One NoProxy entry (not NUL-terminated): its kind, and for addresses family, bytes and prefix. */
static EntryKind parse_entry(const char *e, size_t n, int *family, unsigned char addr[16], unsigned *bits) {
        const char *slash = memchr(e, '/', n);

        if (n == 1 && e[0] == '*')
                return ENTRY_ANY;
        if (slash) {
                char *end;
                char num[4];
                size_t k = n - (size_t) (slash - e) - 1;

                if (k == 0 || k >= sizeof num)
                        return ENTRY_INVALID;
                memcpy(num, slash + 1, k);
                num[k] = 0;
                unsigned long b = strtoul(num, &end, 10);
                *family = parse_ip(e, (size_t) (slash - e), addr);
                if (*end || !isdigit((unsigned char) num[0]) || *family == 0 ||
                    b > (*family == AF_INET ? 32u : 128u))
                        return ENTRY_INVALID;
                *bits = (unsigned) b;
                return ENTRY_BLOCK;
        }
        *family = parse_ip(e, n, addr);
        if (*family != 0) {
                *bits = *family == AF_INET ? 32 : 128;
                return ENTRY_IP;
        }
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) e[i]) && e[i] != '.' && e[i] != '-' && e[i] != '_')
                        return ENTRY_INVALID;
        return n > 0 && !(n == 1 && e[0] == '.') ? ENTRY_NAME : ENTRY_INVALID;
}

/* Calls f for each entry until it returns true; returns whether one did. */
typedef bool (*EntryFunc)(const char *e, size_t n, void *userdata);

static bool each_entry(const char *list, EntryFunc f, void *userdata) {
        const char *p = list;

        while (p && *p) {
                p += strspn(p, ", \t");
                size_t n = strcspn(p, ", \t");
                if (n > 0 && f(p, n, userdata))
                        return true;
                p += n;
        }
        return false;
}

static bool entry_invalid(const char *e, size_t n, void *userdata) {
        unsigned char addr[16];
        unsigned bits;
        int family;
        bool *any = userdata;

        *any = true;
        return parse_entry(e, n, &family, addr, &bits) == ENTRY_INVALID;
}

bool proxy_no_proxy_is_valid(const char *value) {
        bool any = false;

        if (isempty(value))
                return true;
        if (strlen(value) > 4096)
                return false;
        for (const char *p = value; *p; p++)
                if (((unsigned char) *p < ' ' && *p != '\t') || *p == 0x7f)
                        return false;
        return !each_entry(value, entry_invalid, &any) && any;
}

typedef struct HostMatch {
        const char *host;       /* without brackets */
        size_t len;
        int family;             /* 0 for a name */
        unsigned char addr[16];
} HostMatch;

static bool entry_matches(const char *e, size_t n, void *userdata) {
        HostMatch *h = userdata;
        unsigned char addr[16];
        unsigned bits;
        int family;

        switch (parse_entry(e, n, &family, addr, &bits)) {
        case ENTRY_ANY:
                return true;
        case ENTRY_IP:
        case ENTRY_BLOCK:
                return h->family == family && prefix_equal(h->addr, addr, bits);
        case ENTRY_NAME:
                if (h->family != 0)
                        return false;
                if (e[0] == '.') {
                        e++;
                        n--;
                }
                /* The name itself, or a name under it. */
                if (h->len == n && strncasecmp(h->host, e, n) == 0)
                        return true;
                return h->len > n && h->host[h->len - n - 1] == '.' &&
                       strncasecmp(h->host + h->len - n, e, n) == 0;
        default:
                return false;
        }
}

bool proxy_no_proxy_matches(const char *list, const char *host) {
        HostMatch h = { .host = host };

        if (isempty(list) || isempty(host))
                return false;
        h.len = strlen(host);
        h.family = parse_ip(host, h.len, h.addr);
        if (h.len >= 2 && host[0] == '[' && host[h.len - 1] == ']') {
                h.host++;
                h.len -= 2;
        }
        /* "example.com." is "example.com". */
        if (h.family == 0 && h.len > 1 && h.host[h.len - 1] == '.')
                h.len--;
        return each_entry(list, entry_matches, &h);
}

/* Where the userinfo of a URL is: [*start, *end) including the '@'; false when it has none. */
static bool find_userinfo(const char *value, size_t *start, size_t *end) {
        const char *sep, *authority, *at = NULL;
        size_t n;

        if (!value || !(sep = strstr(value, "://")))
                return false;
        authority = sep + 3;
        n = strcspn(authority, "/?#");
        /* The last '@': a password may hold one. */
        for (size_t i = 0; i < n; i++)
                if (authority[i] == '@')
                        at = authority + i;
        if (!at)
                return false;
        *start = (size_t) (authority - value);
        *end = (size_t) (at - value) + 1;
        return true;
}

bool proxy_has_credentials(const char *value) {
        size_t start, end;

        return find_userinfo(value, &start, &end);
}

char *proxy_redact(const char *value) {
        size_t start, end, len;
        char *r;

        if (!value)
                return strdup("");
        if (!find_userinfo(value, &start, &end))
                return strdup(value);
        len = strlen(value);
        r = malloc(len - (end - start) + 1);
        if (!r)
                return NULL;
        memcpy(r, value, start);
        memcpy(r + start, value + end, len - end + 1);
        return r;
}

static int set_string(char **field, const char *value) {
        char *v = NULL;

        if (!isempty(value) && !(v = strdup(value)))
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

int proxy_settings_set_proxy(ProxySettings *s, const char *value) {
        assert(s);
        if (!proxy_value_is_valid(value))
                return -EINVAL;
        return set_string(&s->proxy, value);
}

int proxy_settings_set_no_proxy(ProxySettings *s, const char *value) {
        assert(s);
        if (!proxy_no_proxy_is_valid(value))
                return -EINVAL;
        return set_string(&s->no_proxy, value);
}

int proxy_settings_set_cache_host(ProxySettings *s, const char *value) {
        _cleanup_free_ char *url = NULL;

        assert(s);
        if (isempty(value)) {
                s->cache_url = mfree(s->cache_url);
                return set_string(&s->cache_host, NULL);
        }
        if (!proxy_cache_host_is_valid(value))
                return -EINVAL;
        if (asprintf(&url, "http://%s", value) < 0) {
                url = NULL;     /* what a failed asprintf() left is undefined */
                return -ENOMEM;
        }
        if (set_string(&s->cache_host, value) < 0)
                return -ENOMEM;
        free(s->cache_url);
        s->cache_url = TAKE_PTR(url);
        return 0;
}

int proxy_settings_set_ca_file(ProxySettings *s, const char *value) {
        assert(s);
        if (!isempty(value) && (value[0] != '/' || has_space_or_control(value)))
                return -EINVAL;
        return set_string(&s->ca_file, value);
}

int proxy_route(const ProxySettings *s, const char *job_proxy, const char *url, bool skip_cache,
                ProxyRoute *ret) {
        _cleanup_free_ char *scheme = NULL, *host = NULL;
        bool https;

        assert(s);
        assert(url);
        assert(ret);
        if (!url_scheme_host(url, &scheme, &host))
                return -EINVAL;
        https = streq(scheme, "https");
        if (!https && !streq(scheme, "http"))
                return -EINVAL;

        if (proxy_no_proxy_matches(s->no_proxy, host))
                *ret = (ProxyRoute) { PROXY_ROUTE_DIRECT, NULL };
        else if (!isempty(job_proxy))
                *ret = streq(job_proxy, PROXY_DIRECT) ? (ProxyRoute) { PROXY_ROUTE_DIRECT, NULL }
                                                      : (ProxyRoute) { PROXY_ROUTE_PROXY, job_proxy };
        else if (s->cache_url && !https && !skip_cache)
                *ret = (ProxyRoute) { PROXY_ROUTE_CACHE, s->cache_url };
        else if (isempty(s->proxy))
                *ret = (ProxyRoute) { PROXY_ROUTE_ENVIRONMENT, NULL };
        else if (streq(s->proxy, PROXY_DIRECT))
                *ret = (ProxyRoute) { PROXY_ROUTE_DIRECT, NULL };
        else
                *ret = (ProxyRoute) { PROXY_ROUTE_PROXY, s->proxy };
        return 0;
}

bool proxy_cache_failed(CURLcode code, long status, bool truncated) {
        switch (code) {
        case CURLE_OK:
                return status >= 500 || truncated;
        case CURLE_WRITE_ERROR:         /* our file, or we stopped reading: nothing the cache did */
        case CURLE_ABORTED_BY_CALLBACK:
        case CURLE_OUT_OF_MEMORY:
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return false;
        default:
                return true;
        }
}
