/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http-util.h"
#include "safe-text.h"
#include "url-strip.h"
#include "util.h"

int http_header_list_append(struct curl_slist **l, const char *line) {
        struct curl_slist *n;

        assert(l);
        assert(line);

        n = curl_slist_append(*l, line);
        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

size_t http_discard_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        return size * nmemb;
}

bool http_header_value(const char *line, size_t len, const char *name, const char **ret_value, size_t *ret_len) {
        size_t n = strlen(name);

        assert(line);
        assert(name);
        assert(ret_value);
        assert(ret_len);

        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return false;
        const char *v = line + n + 1;
        const char *end = line + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && isspace((unsigned char) end[-1]))
                end--;
        *ret_value = v;
        *ret_len = (size_t) (end - v);
        return true;
}

/* A header value, which is not NUL-terminated, as a string in buf; false when it does not fit. */
static bool value_copy(char *buf, size_t size, const char *v, size_t n) {
        if (n >= size)
                return false;
        memcpy(buf, v, n);
        buf[n] = 0;
        return true;
}

bool http_parse_u64(const char *s, size_t n, uint64_t *ret) {
        char buf[32];

        assert(s);
        assert(ret);

        return value_copy(buf, sizeof buf, s, n) && parse_uint64(buf, UINT64_MAX, ret) >= 0;
}

bool http_parse_content_range(const char *v, size_t n, uint64_t *ret_start, uint64_t *ret_total) {
        unsigned long long a, b, total;
        char buf[128];

        assert(v);
        assert(ret_start);
        assert(ret_total);

        if (!value_copy(buf, sizeof buf, v, n))
                return false;
        if (sscanf(buf, "bytes %llu-%llu/%llu", &a, &b, &total) == 3)
                *ret_start = a, *ret_total = total;
        else if (sscanf(buf, "bytes %llu-%llu/*", &a, &b) == 2)
                *ret_start = a, *ret_total = UINT64_MAX;
        else if (sscanf(buf, "bytes */%llu", &total) == 1)
                *ret_start = UINT64_MAX, *ret_total = total;
        else
                return false;
        return true;
}

/* A server cannot hold a job back for more than a day (and no product of overflows). */
#define RETRY_AFTER_MAX_SEC (24ULL * 3600)

uint64_t http_parse_retry_after(const char *v, size_t n) {
        uint64_t secs;
        char buf[128];

        assert(v);

        if (!http_parse_u64(v, n, &secs)) {
                if (!value_copy(buf, sizeof buf, v, n))
                        return 0;
                time_t when = curl_getdate(buf, NULL);
                time_t now = time(NULL);
                if (when <= now)
                        return 0;
                secs = (uint64_t) (when - now);
        }
        if (secs > RETRY_AFTER_MAX_SEC)
                secs = RETRY_AFTER_MAX_SEC;
        return secs * USEC_PER_SEC;
}

bool http_parse_status_line(const char *line, size_t len, long *ret_status, char *reason, size_t reason_size) {
        int code = 0, consumed = 0;
        char buf[128];
        size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;

        assert(line);
        assert(ret_status);
        assert(reason);
        assert(reason_size > 0);

        memcpy(buf, line, n);
        buf[n] = 0;
        if (sscanf(buf, "HTTP/%*s %d %n", &code, &consumed) < 1)
                return false;
        *ret_status = code;
        reason[0] = 0;
        if (consumed > 0) {
                /* The server's own words, made safe for the job's messages (and cut between
                 * characters, not inside one). */
                char *e = buf + strlen(buf);
                while (e > buf + consumed && isspace((unsigned char) e[-1]))
                        *--e = 0;
                safe_text_copy(reason, reason_size, buf + consumed);
        }
        return true;
}

bool http_status_is_transient(long s) {
        return s >= 500 || s == 408 || s == 429;
}

void http_result_from_status(long status, const char *reason, uint64_t retry_after_usec, const char *url,
                             TransferResult *r, char *msg, size_t msg_size, char *sum, size_t sum_size) {
        assert(reason);
        assert(url);
        assert(r);
        assert(msg);
        assert(sum);

        r->outcome = http_status_is_transient(status) ? TRANSFER_TRANSIENT : TRANSFER_FATAL;
        r->error_name = ERROR_NAME_HTTP;
        r->retry_after_usec = retry_after_usec;
        char shown[URL_SHOWN_MAX];

        snprintf(sum, sum_size, "HTTP %ld%s%s", status, reason[0] ? " " : "", reason);
        utf8_trim_partial(sum);
        snprintf(msg, msg_size, "%s for %s", sum, url_strip(shown, sizeof shown, url));
        utf8_trim_partial(msg);
        r->summary = sum;
        r->message = msg;
}

/* How a failure of curl counts, code by code; any code not listed is a transient failure of
 * the network. */
static const struct {
        TransferOutcome outcome;
        ErrorName error_name;
        CURLcode codes[8];      /* up to the first CURLE_OK */
} curl_failures[] = {
        { TRANSFER_TRANSIENT, ERROR_NAME_TIMEOUT, { CURLE_OPERATION_TIMEDOUT } },
        { TRANSFER_FATAL, ERROR_NAME_TOO_MANY_REDIRECTS, { CURLE_TOO_MANY_REDIRECTS } },
        { TRANSFER_FATAL, ERROR_NAME_UNSUPPORTED_PROTOCOL, { CURLE_UNSUPPORTED_PROTOCOL } },
        /* A certificate does not change by itself; a failed handshake may work next time. */
        { TRANSFER_FATAL, ERROR_NAME_TLS, { CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
                                            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
                                            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS } },
        { TRANSFER_TRANSIENT, ERROR_NAME_TLS, { CURLE_SSL_CONNECT_ERROR } },
        { TRANSFER_FATAL, ERROR_NAME_NETWORK, { CURLE_URL_MALFORMAT } },
};

void http_result_from_curl(CURLcode code, const char *errbuf, const char *url,
                           TransferResult *r, char *msg, size_t msg_size) {
        const char *what = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(code);

        assert(url);
        assert(r);
        assert(msg);

        r->summary = curl_easy_strerror(code);
        r->outcome = TRANSFER_TRANSIENT;
        r->error_name = ERROR_NAME_NETWORK;
        for (size_t i = 0; i < ELEMENTSOF(curl_failures); i++)
                for (size_t k = 0; k < ELEMENTSOF(curl_failures[i].codes) && curl_failures[i].codes[k] != CURLE_OK; k++)
                        if (curl_failures[i].codes[k] == code) {
                                r->outcome = curl_failures[i].outcome;
                                r->error_name = curl_failures[i].error_name;
                        }
        if (code == CURLE_UNSUPPORTED_PROTOCOL) {
                what = "A redirect led to a protocol that is not allowed (only http and https; "
                       "https to http only with AllowInsecureRedirect)";
                r->summary = "Redirect to a protocol that is not allowed";
        }
        char shown[URL_SHOWN_MAX];

        snprintf(msg, msg_size, "%s for %s", what, url_strip(shown, sizeof shown, url));
        utf8_trim_partial(msg);
        r->message = msg;
}

/* scheme://host:port, lower case, with the default port filled in; NULL when unparsable. */
char *http_url_origin(const char *url) {
        CURLU *h = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

        assert(url);

        if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
            asprintf(&o, "%s://%s:%s", scheme, host, port) >= 0)
                for (char *p = o; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        else
                o = NULL;
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(h);
        return o;
}

bool http_same_origin(const char *a, const char *b) {
        _cleanup_free_ char *x = http_url_origin(a), *y = http_url_origin(b);

        assert(a);
        assert(b);

        return x && y && streq(x, y);
}
