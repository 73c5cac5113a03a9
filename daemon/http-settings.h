/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every request of a job carries, whoever makes it (a download's transfer, a tus upload,
 * the fetch of a signed checksum list): the job's header lines, whether an https URL may
 * redirect to http, and the job's Proxy. A request is handed the job's settings (borrowed)
 * and keeps a copy of its own for as long as it runs. */

#include <curl/curl.h>
#include <stdbool.h>

typedef struct HttpSettings {
        char **headers;                 /* "Name: value" lines (credentials, often: secrets) */
        char *proxy;                    /* "direct", a proxy URL, or NULL or "": the daemon's */
        bool allow_insecure_redirect;   /* https → http */
} HttpSettings;

/* A copy of src that *ret owns (an empty Proxy as NULL); *ret is left empty on failure. */
int http_settings_copy(const HttpSettings *src, HttpSettings *ret);
void http_settings_done(HttpSettings *s);

/* Appends the header lines to *l when url is at `origin`, the origin (http_url_origin()) of the
 * URL the job named: they go nowhere else, not even where a redirect or a server's Location
 * points. A NULL origin matches nothing. */
int http_settings_append_headers(const HttpSettings *s, const char *url, const char *origin, struct curl_slist **l);
