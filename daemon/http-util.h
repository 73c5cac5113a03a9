/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small pieces of HTTP that downloads and uploads share: header lines, status lines, and how
 * a failure is judged (transient or fatal) and told to a person. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error-name.h"


/* How a download or an upload ended, for its owner. */
typedef enum TransferOutcome {
        TRANSFER_OK,          /* the whole resource is in the file */
        TRANSFER_RESTART,     /* the partial data cannot be continued: truncate, start from zero */
        TRANSFER_TRANSIENT,   /* worth retrying later */
        TRANSFER_FATAL,
        TRANSFER_INTEGRITY,   /* the bytes are not the expected ones (size, a partial digest):
                               * the partial file must go; another mirror may have them */
} TransferOutcome;

typedef struct TransferResult {
        TransferOutcome outcome;
        ErrorName error_name;       /* the contract's ErrorName; only when not TRANSFER_OK */
        const char *message;        /* a sentence a person can act on, naming the URL; valid during the callback */
        const char *summary;        /* the same without URL or path, for broadcast signals */
        uint64_t retry_after_usec;  /* the server's Retry-After as a delay, 0 if none */
        int local_errno;            /* for LocalFile errors */
} TransferResult;

/* Appends one "Name: value" line to a curl header list; -ENOMEM, the list unchanged. */
int http_header_list_append(struct curl_slist **l, const char *line);
/* A curl write callback for bodies nobody reads (tus answers, DELETE replies). */
size_t http_discard_body(char *ptr, size_t size, size_t nmemb, void *userdata);

/* True when `line` is the header `name` (case-insensitive); returns its trimmed value. */
bool http_header_value(const char *line, size_t len, const char *name, const char **ret_value, size_t *ret_len);
bool http_parse_u64(const char *s, size_t n, uint64_t *ret);
/* Content-Range: "bytes START-END/TOTAL", "bytes START-END/" + "*" (total UINT64_MAX) or
 * "bytes " + "*" + "/TOTAL" (start UINT64_MAX, a 416's); false for anything else. */
bool http_parse_content_range(const char *v, size_t n, uint64_t *ret_start, uint64_t *ret_total);
/* Retry-After as a delay from now in µs (seconds or an HTTP date); 0 when absent or past. */
uint64_t http_parse_retry_after(const char *v, size_t n);
/* "HTTP/1.1 404 Not Found" → 404, "Not Found" (HTTP/2 has no reason phrase). The reason is
 * the server's: it comes back as safe text (safe-text.h), cut to reason_size. */
bool http_parse_status_line(const char *line, size_t len, long *ret_status, char *reason, size_t reason_size);
bool http_status_is_transient(long status);

/* scheme://host:port in lower case, the default port filled in; NULL when unparsable. Job
 * headers (credentials, often) go only to the origin the job named. */
char *http_url_origin(const char *url);
bool http_same_origin(const char *a, const char *b);

/* Fills *r for a response with an error status. msg/sum are the caller's buffers; messages
 * name the URL without its credentials (url-strip.h). */
void http_result_from_status(long status, const char *reason, uint64_t retry_after_usec, const char *url,
                             TransferResult *r, char *msg, size_t msg_size, char *sum, size_t sum_size);
/* Fills *r for a failure of curl itself (no usable response). */
void http_result_from_curl(CURLcode code, const char *errbuf, const char *url,
                           TransferResult *r, char *msg, size_t msg_size);
