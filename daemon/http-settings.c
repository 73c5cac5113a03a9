/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-settings.h"
#include "http-util.h"
#include "util.h"

int http_settings_copy(const HttpSettings *src, HttpSettings *ret) {
        HttpSettings c = { .headers = NULL };

        assert(src);
        assert(ret);

        c.allow_insecure_redirect = src->allow_insecure_redirect;
        if ((src->headers && !(c.headers = strv_copy(src->headers))) ||
            (!isempty(src->proxy) && !(c.proxy = strdup(src->proxy)))) {
                http_settings_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void http_settings_done(HttpSettings *s) {
        assert(s);

        s->headers = strv_free(s->headers);
        s->proxy = mfree(s->proxy);
}

int http_settings_append_headers(const HttpSettings *s, const char *url, const char *origin, struct curl_slist **l) {
        _cleanup_free_ char *o = NULL;

        assert(s);
        assert(url);
        assert(l);

        if (!s->headers || !origin)
                return 0;
        o = http_url_origin(url);
        if (!o || !streq(o, origin))
                return 0;
        for (char **h = s->headers; *h; h++)
                if (http_header_list_append(l, *h) < 0)
                        return -ENOMEM;
        return 0;
}
