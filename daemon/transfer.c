/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "body-check.h"
#include "cache-route.h"
#include "config.h"
#include "http-util.h"
#include "log.h"
#include "progress-rule.h"
#include "token-bucket.h"
#include "write-limits.h"
#include "transfer.h"
#include "transfer-internal.h"
#include "url-strip.h"
#include "util.h"

/* Buffers per transfer: the writer works on one or two while the loop fills the next. */
#define BODY_BUFFERS 4
/* With a hash stream up to 4 more: its thread, below the loop's priority, may fall a few MiB
 * behind for a moment without pausing the transfer, and each writer task takes more buffers at
 * once (fewer wake-ups of the loop). On a loaded 2-CPU machine 1 GiB with a checksum took 2.8 s
 * instead of 4.9 s with 4 (medians of the same 4 rounds), the loop's CPU 0.61 s instead of
 * 0.66 s. Every buffer of a transfer but its first comes from the process's shared ones
 * (BODY_SHARED_MAX for all transfers), which bounds what sixteen files at once hold. */
#define BODY_BUFFERS_HASHED_SPARE 4


static void response_reset(Transfer *t, const char *line, size_t len) {
        body_check_response_reset(&t->check);
        t->status = 0;
        t->reason[0] = 0;
        t->have_content_range = false;
        t->content_length = UINT64_MAX;
        t->etag = mfree(t->etag);
        t->last_modified = mfree(t->last_modified);
        t->retry_after_usec = 0;
        t->have_location = false;
        (void) http_parse_status_line(line, len, &t->status, t->reason, sizeof t->reason);
}

static bool status_is_redirect(long s) {
        return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* The headers of a response are all in: decide what its body means for the file. */
static size_t on_headers_end(Transfer *t, size_t size) {

        if (status_is_redirect(t->status) && t->have_location)
                /* Followed by us once it ends, not by curl: job headers must not go to another
                 * origin. Its body is not ours. */
                return size;

        if (t->status == 416 && t->offset > 0) {
                /* We asked for bytes past what we hold: if the server's size is exactly what
                 * we hold, the file is complete; else it changed and we start over. */
                if (t->have_content_range && t->range_total == t->offset) {
                        t->complete_by_416 = true;
                        t->total = t->offset;
                        t->position = t->queued_end = t->offset;
                } else
                        t->restart = true;
                return 0;  /* abort: nothing to receive */
        }

        if (t->status < 200 || t->status >= 300)
                return size;  /* an error: its body is discarded, on_done judges the status */

        if (t->offset > 0) {
                if (t->status == 206) {
                        /* Two versions of a resource are never spliced into one file. */
                        if (!t->have_content_range || t->range_start != t->offset) {
                                t->restart = true;
                                return 0;
                        }
                        t->position = t->flushed = t->dropped = t->queued_end = t->offset;
                        t->total = t->range_total;
                        if (t->total == UINT64_MAX && t->content_length != UINT64_MAX)
                                t->total = t->offset + t->content_length;
                } else {
                        /* 200: the server ignored Range or If-Range said the resource changed. */
                        if (ftruncate(t->fd, 0) < 0) {
                                t->write_errno = errno;
                                return 0;
                        }
                        t->position = t->flushed = t->dropped = t->queued_end = 0;
                        t->total = t->content_length;
                        body_check_restart(&t->check);
                }
        } else {
                t->position = t->queued_end = 0;
                t->total = t->content_length;
        }

        if (!body_check_accept(&t->check, t->status, t->total, t->url))
                return 0;  /* abort: not a byte of the wrong file */
        if (!write_limits_size_ok(&t->limits, t->total))
                return 0;  /* never a byte of a file that may not be kept whole */
        t->body_accepted = true;
        return size;
}

static size_t on_curl_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nitems;
        const char *v;
        size_t n;

        if (t->gone)
                return 0;  /* freed, its handle not yet released: curl ends the request */

        if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
                response_reset(t, buffer, len);
                t->answered = true;
                if (!t->responded) {
                        t->responded = true;
                        if (t->cb->on_response)
                                t->cb->on_response(t, t->userdata);
                }
                return len;
        }

        if (len <= 2 && (buffer[0] == '\r' || buffer[0] == '\n'))
                return on_headers_end(t, len);

        /* Repr-Digest, Content-Digest, Digest, Content-Encoding (a failed allocation only
         * loses a digest to check). */
        if (body_check_header(&t->check, buffer, len))
                return len;

        if (http_header_value(buffer, len, "Location", &v, &n))
                t->have_location = n > 0;
        else if (http_header_value(buffer, len, "Content-Length", &v, &n))
                (void) http_parse_u64(v, n, &t->content_length);
        else if (http_header_value(buffer, len, "Content-Range", &v, &n))
                t->have_content_range = http_parse_content_range(v, n, &t->range_start, &t->range_total);
        else if (http_header_value(buffer, len, "ETag", &v, &n)) {
                free(t->etag);
                t->etag = strndup(v, n);
        } else if (http_header_value(buffer, len, "Last-Modified", &v, &n)) {
                free(t->last_modified);
                t->last_modified = strndup(v, n);
        } else if (http_header_value(buffer, len, "Retry-After", &v, &n))
                t->retry_after_usec = http_parse_retry_after(v, n);

        return len;
}

static void transfer_finish(Transfer *t, CURLcode code);

static int transfer_request(Transfer *t);

static void finish_redirect_error(Transfer *t, ErrorName name, const char *summary, const char *why) {
        TransferResult r = { .outcome = TRANSFER_FATAL, .error_name = name, .summary = summary };
        char msg[1024], from[URL_SHOWN_MAX], to[URL_SHOWN_MAX];

        snprintf(msg, sizeof msg, "%s (from %s to %s)", why, url_strip(from, sizeof from, t->url),
                 url_strip(to, sizeof to, t->redirect_url));
        r.message = msg;
        t->cb->on_done(t, &r, t->userdata);
}

/* A follow-up request (a redirect, a fallback from the cache) could not be made. */
static void request_again_or_fail(Transfer *t, int r) {
        if (r < 0) {
                TransferResult res = { .outcome = TRANSFER_TRANSIENT, .error_name = ERROR_NAME_NETWORK,
                                       .summary = strerror(-r), .message = strerror(-r) };
                t->cb->on_done(t, &res, t->userdata);
        }
}

/* A redirect: check it as curl would have (count, protocols, https → http), then ask the new
 * URL with a fresh handle. */
static void follow_redirect(Transfer *t) {
        bool from_https = strncasecmp(t->url, "https:", 6) == 0;

        if (++t->redirects > 10) {
                finish_redirect_error(t, ERROR_NAME_TOO_MANY_REDIRECTS, "Too many redirects", "More than 10 redirects");
                return;
        }
        if (strncasecmp(t->redirect_url, "https:", 6) != 0 &&
            (strncasecmp(t->redirect_url, "http:", 5) != 0 || (from_https && !t->http.allow_insecure_redirect))) {
                finish_redirect_error(t, ERROR_NAME_UNSUPPORTED_PROTOCOL, "Redirect to a protocol that is not allowed",
                                      "A redirect led to a protocol that is not allowed (only http and https; "
                                      "https to http only with AllowInsecureRedirect)");
                return;
        }

        free(t->url);
        t->url = TAKE_PTR(t->redirect_url);
        request_again_or_fail(t, transfer_request(t));
}

/* The cache failed: the file goes on from the origin after the bytes it holds, asking for
 * them only if they are still the same version (If-Range). */
static int fall_back(Transfer *t, CURLcode code) {
        const char *v = transfer_get_validator(t);
        char why[CURL_ERROR_SIZE + 32];

        if (code != CURLE_OK)
                snprintf(why, sizeof why, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
        else
                snprintf(why, sizeof why, "HTTP %ld%s", t->status, t->status < 500 ? ", cut off" : "");
        log_info("The cache failed for %s (%s); continuing from the origin at byte %" PRIu64 ".",
                 URL_SHOWN(t->url), why, t->position);
        if (v && !streq_ptr(v, t->validator) && free_and_strdup(&t->validator, v) < 0)
                return -ENOMEM;
        t->offset = t->position;
        t->body_accepted = false;
        t->errbuf[0] = 0;
        return transfer_request(t);
}

/* The request ended and every byte it brought is written. */
static void request_ended(Transfer *t, CURLcode code) {
        /* Not when the file itself ended it: a restart, a full disk, all bytes held already. */
        if (!t->restart && !t->complete_by_416 && t->write_errno == 0 &&
            cache_route_fall_back(t->route, code, t->status,
                                  t->body_accepted && t->total != UINT64_MAX && t->position != t->total)) {
                request_again_or_fail(t, fall_back(t, code));
                return;
        }
        transfer_finish(t, code);
}

static void on_request_done(EngineRequest *r, CURLcode code) {
        Transfer *t = (Transfer *) r;

        /* curl resolves the Location against the request URL once the response ended. */
        if (code == CURLE_OK && status_is_redirect(t->status) && t->have_location) {
                char *location = NULL;
                if (curl_easy_getinfo(t->req.easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
                        t->redirect_url = strdup(location);
        }
        /* The handle is out of the multi; the owner hears of it and frees the Transfer. */
        engine_release(t->engine, &t->req);
        curl_slist_free_all(t->headers);
        t->headers = NULL;
        if (t->redirect_url) {
                follow_redirect(t);
                return;
        }
        (void) transfer_write_flush_last(t);  /* a failure shows as write_errno */
        if (!transfer_writer_idle(t)) {
                /* Judged once the bytes received are in the file (or failed to get there). */
                t->end_pending = true;
                t->end_code = code;
                return;
        }
        request_ended(t, code);
}

void transfer_on_writes_done(Transfer *t) {
        assert(t);

        t->end_pending = false;
        request_ended(t, t->end_code);
}

/* The cache sent nothing for CacheFallbackSec: end the request as curl would, a little late. */
static void on_cache_silent(void *userdata) {
        Transfer *t = userdata;

        if (!t->req.easy)
                return;
        if (t->paused || t->buffer_wait) {
                cache_route_kick(t->route);  /* our own pause, not the cache's silence */
                return;
        }
        engine_remove(t->engine, &t->req);
        snprintf(t->errbuf, sizeof t->errbuf, "no byte from the cache for CacheFallbackSec");
        on_request_done(&t->req, CURLE_OPERATION_TIMEDOUT);
}

/* One request for t->url: a new easy handle on the engine. */
static int transfer_request(Transfer *t) {
        char range[64];
        int r;

        t->req.easy = curl_easy_init();
        if (!t->req.easy)
                return -ENOMEM;
        t->answered = false;
        t->redirect_url = mfree(t->redirect_url);

        if (http_settings_append_headers(&t->http, t->url, t->origin, &t->headers) < 0 ||
            http_header_list_append(&t->headers, SERVER_DIGEST_WANT_HEADER) < 0)
                return -ENOMEM;
        if (t->offset > 0 && t->validator) {
                _cleanup_free_ char *h = NULL;
                if (asprintf(&h, "If-Range: %s", t->validator) < 0 || http_header_list_append(&t->headers, h) < 0)
                        return -ENOMEM;
        }

        CURL *c = t->req.easy;
        r = engine_setup_easy(t->engine, c, t->url, t->http.allow_insecure_redirect);
        if (r >= 0)
                r = cache_route_setup(t->route, c, t->url);
        if (r < 0) {
                engine_release(t->engine, &t->req);
                return r;
        }
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
        /* A transfer its own limit holds below the stall rule's speed is not stalled. Set per
         * request: curl takes no option changes while a request runs. */
        if (t->bucket.rate > 0)
                (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, progress_low_speed_limit(t->bucket.rate));
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_curl_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, transfer_on_curl_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
        /* Larger reads mean fewer wake-ups and write() calls per megabyte. */
        (void) curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024L);
        if (t->pipewait)
                (void) curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
        if (t->offset > 0) {
                snprintf(range, sizeof range, "%" PRIu64 "-", t->offset);
                (void) curl_easy_setopt(c, CURLOPT_RANGE, range);
        }

        t->req.done = on_request_done;
        r = engine_add(t->engine, &t->req);
        if (r < 0)
                engine_release(t->engine, &t->req);
        return r;
}

static void transfer_freep(Transfer **t) {
        transfer_free(*t);
}

int transfer_start(Engine *e, const TransferRequest *req, const TransferCallbacks *cb,
                   void *userdata, Transfer **ret) {
        _cleanup_(transfer_freep) Transfer *t = NULL;
        int r;

        assert(e);
        assert(req);
        assert(cb);
        assert(ret);

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->engine = e;
        t->cb = cb;
        t->userdata = userdata;
        t->fd = req->fd;
        t->offset = req->offset;
        t->position = t->flushed = t->dropped = t->queued_end = req->offset;  /* the bytes held are on their way to disk already */
        t->write_pool = req->write_pool;
        t->total = UINT64_MAX;
        t->content_length = UINT64_MAX;
        t->pipewait = req->pipewait;
        t->writeback_pool = req->writeback_pool;
        t->identity = req->identity;
        write_limits_init(&t->limits, req->max_size, &req->keep_free, req->fs_dev);
        token_bucket_init(&t->bucket, req->max_speed, engine_now(e));
        t->check = (BodyCheck) {
                .stream = req->hash_stream,
                .expect_size = req->expect_size,
                .expected_size = req->expected_size,
                /* MaxFileSize is the write limits' (a LocalFile error), not the integrity check's. */
                .max_size = 0,
        };
        /* Every fresh file has a stream (a server's digest may come): without an algorithm yet
         * it hashes nothing. */
        bool hashed = req->hash_stream && hash_stream_get_algorithms(req->hash_stream) != 0;
        if (body_set_new(BODY_BUFFERS, hashed ? BODY_BUFFERS_HASHED_SPARE : 0, transfer_on_buffer_available, t,
                         &t->buffers) < 0)
                return -ENOMEM;
        t->url = strdup(req->url);
        t->origin = http_url_origin(req->origin_url ? req->origin_url : req->url);
        if (!t->url || http_settings_copy(&req->http, &t->http) < 0 ||
            cache_route_new(e, t->http.proxy, on_cache_silent, t, &t->route) < 0 ||
            (req->offset > 0 && req->validator && !(t->validator = strdup(req->validator))))
                return -ENOMEM;

        r = transfer_request(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* What the handle may still point at: the header list, the error buffer, the callbacks'
 * data. */
static void transfer_destroy(EngineRequest *r) {
        Transfer *t = (Transfer *) r;

        if (t->refused > 0)
                log_debug("A stopped transfer refused %" PRIu64 " bytes before its release.", t->refused);
        curl_slist_free_all(t->headers);
        free(t);
}

Transfer *transfer_free(Transfer *t) {
        if (!t)
                return NULL;
        /* Nothing of it runs after this: curl's callbacks refuse everything (the write
         * callback pauses the request), no byte is written or counted. The handle leaves curl
         * after the reply (engine_release_later()). */
        t->gone = true;
        /* A write in flight stops before its next pwrite(); buffers out (with the writer or
         * the hasher) are freed as they come back. */
        transfer_writer_detach(t);
        body_buffer_release(TAKE_PTR(t->cur));
        body_set_orphan(t->buffers);
        sd_event_source_disable_unref(t->unpause_source);
        transfer_writeback_detach(t);
        sd_event_source_disable_unref(t->flush_source);
        sd_event_source_disable_unref(t->resume_timer);
        http_settings_done(&t->http);
        free(t->validator);
        free(t->origin);
        cache_route_free(t->route);
        free(t->redirect_url);
        free(t->etag);
        free(t->last_modified);
        t->url = mfree(t->url);
        body_check_done(&t->check);
        /* Before a response, curl would go on connecting and sending the request: released
         * now (cheap then: no connection worth closing carefully). */
        if (!t->answered)
                engine_release(t->engine, &t->req);
        engine_release_later(t->engine, &t->req, transfer_destroy);
        return NULL;
}

int transfer_stop(Transfer *t) {
        assert(t);

        int before = t->write_errno;

        engine_release(t->engine, &t->req);
        /* The bytes received reach the file before this returns: the writer's in flight
         * waited for, the rest written here. */
        (void) transfer_write_flush(t);
        transfer_writer_drain(t);
        t->end_pending = false;
        if (t->write_errno != 0 && before == 0)
                return -t->write_errno;
        return 0;
}

bool transfer_is_paused(const Transfer *t) {
        assert(t);

        return t->paused;
}

uint64_t transfer_get_position(const Transfer *t) {
        assert(t);

        return t->cur ? t->cur->offset + t->cur->len : t->queued_end;
}

uint64_t transfer_get_total(const Transfer *t) {
        assert(t);

        return t->total;
}

const char *transfer_get_validator(const Transfer *t) {
        assert(t);

        if (!t->body_accepted)
                return NULL;
        /* A weak ETag is not good enough for If-Range (RFC 9110 13.1.5). */
        if (t->etag && strncmp(t->etag, "W/", 2) != 0)
                return t->etag;
        return t->last_modified;
}

uint64_t transfer_get_bytes_from_cache(const Transfer *t) {
        return cache_route_bytes_from_cache(t->route);
}

uint64_t transfer_get_bytes_from_origin(const Transfer *t) {
        return cache_route_bytes_from_origin(t->route);
}

int transfer_set_max_speed(Transfer *t, uint64_t bytes_per_sec) {
        assert(t);

        if (t->bucket.rate == bytes_per_sec)
                return 0;
        token_bucket_set_rate(&t->bucket, bytes_per_sec, engine_now(t->engine));
        /* A paused transfer waits for the new rate's debt, or not at all without a limit. */
        if (t->paused && (t->bucket.rate == 0 || !transfer_bucket_must_wait(t))) {
                t->paused = false;
                (void) sd_event_source_set_enabled(t->resume_timer, SD_EVENT_OFF);
                if (t->req.easy)
                        (void) curl_easy_pause(t->req.easy, CURLPAUSE_CONT);
        }
        return 0;
}

int transfer_get_server_digest(const Transfer *t, ServerDigest *ret) {
        assert(t);
        assert(ret);

        if (!t->body_accepted || !t->check.have_server_digest)
                return 0;
        *ret = t->check.server_digest;
        return 1;
}

static void transfer_finish(Transfer *t, CURLcode code) {
        TransferResult r = { .outcome = TRANSFER_OK };
        char msg[1024] = "", sum[128] = "";

        if (body_check_failed(&t->check))
                r.outcome = TRANSFER_INTEGRITY;
        else if (t->complete_by_416)
                r.outcome = TRANSFER_OK;
        else if (write_limits_result(&t->limits, t->body_accepted, &r, msg, sizeof msg)) {
                /* MaxFileSize or KeepFree stopped it: r and msg say which. */
        } else if (t->restart)
                r.outcome = TRANSFER_RESTART;
        else if (t->write_errno != 0) {
                int e = t->write_errno;
                r.local_errno = e;
                r.error_name = ERROR_NAME_LOCAL_FILE;
                /* A full disk or quota can clear up; the partial data is kept. */
                r.outcome = e == ENOSPC || e == EDQUOT ? TRANSFER_TRANSIENT : TRANSFER_FATAL;
                snprintf(msg, sizeof msg, "Writing the temporary file failed: %s", strerror(e));
                r.summary = strerror(e);
        } else if (t->status != 0 && (t->status < 200 || t->status >= 300) &&
                   (code == CURLE_OK || code == CURLE_WRITE_ERROR))
                http_result_from_status(t->status, t->reason, t->retry_after_usec, t->url, &r, msg, sizeof msg, sum, sizeof sum);
        else if (code != CURLE_OK)
                http_result_from_curl(code, t->errbuf, t->url, &r, msg, sizeof msg);
        else if (t->total != UINT64_MAX && t->position != t->total) {
                r.outcome = TRANSFER_TRANSIENT;
                r.error_name = ERROR_NAME_NETWORK;
                snprintf(msg, sizeof msg, "The connection ended after %" PRIu64 " of %" PRIu64 " bytes for %s",
                         t->position, t->total, URL_SHOWN(t->url));
                r.summary = "The connection ended early";
        } else if (t->total == UINT64_MAX)
                t->total = t->position;

        if (r.outcome == TRANSFER_OK && !t->complete_by_416) {
                body_check_complete(&t->check, t->position, t->offset, t->url);
                if (body_check_failed(&t->check))
                        r.outcome = TRANSFER_INTEGRITY;
        }
        if (r.outcome == TRANSFER_INTEGRITY) {
                r.error_name = ERROR_NAME_INTEGRITY;
                snprintf(msg, sizeof msg, "%s", t->check.message);
                r.summary = t->check.summary;
        }

        r.message = msg;
        if (!r.summary)
                r.summary = sum;
        t->cb->on_done(t, &r, t->userdata);
}
