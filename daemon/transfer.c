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
#include "config.h"
#include "http-util.h"
#include "log.h"
#include "token-bucket.h"
#include "transfer.h"
#include "url-strip.h"
#include "util.h"

struct Transfer {
        EngineRequest req;      /* first: the engine hands it back on completion */
        Engine *engine;
        CURL *easy;
        struct curl_slist *headers;
        const TransferCallbacks *cb;
        void *userdata;

        int fd;
        uint64_t offset;        /* what the request asked to skip */
        char **job_headers;     /* sent only to the origin of the URL the job named */
        char *validator;
        char *origin;           /* scheme://host:port of that URL */
        bool allow_insecure_redirect;
        unsigned redirects;
        char *redirect_url;     /* where the redirect that just ended points */
        bool have_location;     /* the response being parsed has a Location */
        uint64_t position;      /* bytes in the file: where the buffered bytes go */
        uint64_t flushed;       /* writeback of [0, flushed) has been started */
        char *wbuf;             /* body bytes not yet written: curl hands over 16 KiB at a time */
        size_t wlen;
        sd_event_source *flush_source;  /* writes wbuf out on the next loop iteration */
        uint64_t total;
        char *url;

        /* The response being parsed; reset at every status line (redirects bring several). */
        long status;
        char reason[64];
        bool have_content_range;
        uint64_t range_start, range_total;   /* range_total UINT64_MAX for "*" */
        uint64_t content_length;             /* UINT64_MAX when absent */
        char *etag, *last_modified;
        uint64_t retry_after_usec;

        /* Bandwidth: when the bucket runs dry the write callback pauses the handle (curl keeps
         * the chunk) and a timer resumes it once the debt is paid. curl's own speed option
         * cannot be changed reliably while a transfer runs. */
        TokenBucket bucket;
        bool paused;
        sd_event_source *resume_timer;

        bool responded;         /* on_response was called */
        bool body_accepted;     /* the headers were judged: body bytes go to the file */
        bool restart;           /* the partial file cannot be continued */
        bool complete_by_416;   /* the file already held every byte */
        int write_errno;

        BodyCheck check;        /* size, hashing, the server's digests */

        char errbuf[CURL_ERROR_SIZE];
};

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
                        t->position = t->offset;
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
                        t->position = t->flushed = t->offset;
                        t->total = t->range_total;
                        if (t->total == UINT64_MAX && t->content_length != UINT64_MAX)
                                t->total = t->offset + t->content_length;
                } else {
                        /* 200: the server ignored Range or If-Range said the resource changed. */
                        if (ftruncate(t->fd, 0) < 0) {
                                t->write_errno = errno;
                                return 0;
                        }
                        t->position = t->flushed = 0;
                        t->total = t->content_length;
                        body_check_restart(&t->check);
                }
        } else {
                t->position = 0;
                t->total = t->content_length;
        }

        if (!body_check_accept(&t->check, t->status, t->total, t->url))
                return 0;  /* abort: not a byte of the wrong file */
        t->body_accepted = true;
        return size;
}

static size_t on_curl_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nitems;
        const char *v;
        size_t n;

        if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
                response_reset(t, buffer, len);
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

static int on_resume_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Transfer *t = userdata;

        t->paused = false;
        /* curl delivers the held chunk from inside this call. */
        if (t->easy)
                (void) curl_easy_pause(t->easy, CURLPAUSE_CONT);
        return 0;
}

/* Returns true when the chunk must wait: the bucket is in debt. */
static bool bucket_must_wait(Transfer *t) {
        uint64_t now = engine_now(t->engine), wait;

        wait = token_bucket_wait_usec(&t->bucket, now);
        if (wait == 0)
                return false;
        if (!t->resume_timer) {
                if (sd_event_add_time(engine_get_event(t->engine), &t->resume_timer, CLOCK_MONOTONIC, now + wait,
                                      USEC_PER_MSEC, on_resume_timer, t) < 0)
                        return false;
        } else if (sd_event_source_set_time(t->resume_timer, now + wait) < 0 ||
                   sd_event_source_set_enabled(t->resume_timer, SD_EVENT_ONESHOT) < 0)
                return false;
        t->paused = true;
        return true;
}

#define WRITE_BUFFER_SIZE (1024u * 1024u)
#define WRITEBACK_CHUNK (8u * 1024u * 1024u)

/* Starts (does not wait for) the writeback of the bytes written since the last call. */
static void writeback_start(Transfer *t) {
        if (t->position < t->flushed)
                t->flushed = 0;  /* the file was truncated */
        if (t->position > t->flushed)
                (void) sync_file_range(t->fd, (off_t) t->flushed, (off_t) (t->position - t->flushed),
                                       SYNC_FILE_RANGE_WRITE);
        t->flushed = t->position;
}

/* Writes len bytes at position; on failure remembers errno and returns false. */
static bool write_at_position(Transfer *t, const char *p, size_t len) {
        size_t done = 0;

        while (done < len) {
                ssize_t k = pwrite(t->fd, p + done, len - done, (off_t) t->position);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        t->write_errno = errno;
                        return false;
                }
                body_check_written(&t->check, t->position, p + done, (size_t) k);
                done += (size_t) k;
                t->position += (uint64_t) k;
        }
        return true;
}

/* Writes the buffered bytes out; on failure remembers errno and returns false. */
static bool write_buffer_flush(Transfer *t) {
        size_t len = t->wlen;

        t->wlen = 0;
        if (!write_at_position(t, t->wbuf, len))
                return false;

        /* Start the writeback of what is written, a few MiB behind: the fdatasync() of Complete
         * then finds little left to do, and a large download does not pile up dirty pages. */
        if (t->position - t->flushed >= WRITEBACK_CHUNK)
                writeback_start(t);
        return true;
}

static int on_flush(sd_event_source *s, void *userdata) {
        Transfer *t = userdata;

        /* A failure ends the transfer through curl: the next write callback sees write_errno. */
        if (t->wlen > 0)
                (void) write_buffer_flush(t);
        return 0;
}

/* Buffered bytes reach the file once this wake-up's callbacks are done (all the 16 KiB pieces
 * of one socket read go out in one pwrite()), so a slow transfer never holds them back. */
static void flush_soon(Transfer *t) {
        if (!t->flush_source) {
                if (sd_event_add_defer(engine_get_event(t->engine), &t->flush_source, on_flush, t) < 0)
                        return;  /* flushed when the buffer is full or the transfer ends */
                (void) sd_event_source_set_description(t->flush_source, "transfer-flush");
        }
        (void) sd_event_source_set_enabled(t->flush_source, SD_EVENT_ONESHOT);
}

static size_t on_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nmemb;

        if (!t->body_accepted)
                return len;  /* the body of an error response */
        /* A deferred flush failed: the bytes after it must not land behind a hole. */
        if (t->write_errno != 0)
                return 0;  /* curl ends the transfer with CURLE_WRITE_ERROR */
        /* More than expected: stop at once, before the byte lands. */
        if (!body_check_room(&t->check, t->position + t->wlen, len, t->url))
                return 0;  /* curl ends the transfer with CURLE_WRITE_ERROR */
        if (bucket_must_wait(t))
                return CURL_WRITEFUNC_PAUSE;

        /* One pwrite() per socket read (up to 1 MiB) instead of one per 16 KiB callback: fewer
         * system calls, and whole page-cache folios instead of partial ones to zero first. */
        if (!t->wbuf) {
                t->wbuf = malloc(WRITE_BUFFER_SIZE);
                if (!t->wbuf) {
                        t->write_errno = ENOMEM;
                        return 0;
                }
        }
        if (t->wlen + len > WRITE_BUFFER_SIZE && !write_buffer_flush(t))
                return 0;
        if (len > WRITE_BUFFER_SIZE) {
                if (!write_at_position(t, ptr, len))
                        return 0;
        } else {
                memcpy(t->wbuf + t->wlen, ptr, len);
                t->wlen += len;
                flush_soon(t);
        }
        token_bucket_consume(&t->bucket, len);

        if (t->cb->on_progress)
                t->cb->on_progress(t, t->userdata);
        return len;
}

static void transfer_finish(Transfer *t, CURLcode code);

static int transfer_request(Transfer *t);

static void finish_redirect_error(Transfer *t, ErrorName name, const char *summary, const char *why) {
        TransferResult r = { .outcome = TRANSFER_FATAL, .error_name = name, .summary = summary };
        char msg[1024], from[HTTP_URL_SHOWN_MAX], to[HTTP_URL_SHOWN_MAX];

        snprintf(msg, sizeof msg, "%s (from %s to %s)", why, url_strip(from, sizeof from, t->url),
                 url_strip(to, sizeof to, t->redirect_url));
        r.message = msg;
        t->cb->on_done(t, &r, t->userdata);
}

/* A redirect: check it as curl would have (count, protocols, https → http), then ask the new
 * URL with a fresh handle. */
static void follow_redirect(Transfer *t) {
        bool from_https = strncasecmp(t->url, "https:", 6) == 0;
        int r;

        if (++t->redirects > 10) {
                finish_redirect_error(t, ERROR_NAME_TOO_MANY_REDIRECTS, "Too many redirects", "More than 10 redirects");
                return;
        }
        if (strncasecmp(t->redirect_url, "https:", 6) != 0 &&
            (strncasecmp(t->redirect_url, "http:", 5) != 0 || (from_https && !t->allow_insecure_redirect))) {
                finish_redirect_error(t, ERROR_NAME_UNSUPPORTED_PROTOCOL, "Redirect to a protocol that is not allowed",
                                      "A redirect led to a protocol that is not allowed (only http and https; "
                                      "https to http only with AllowInsecureRedirect)");
                return;
        }

        free(t->url);
        t->url = TAKE_PTR(t->redirect_url);
        r = transfer_request(t);
        if (r < 0) {
                TransferResult res = { .outcome = TRANSFER_TRANSIENT, .error_name = ERROR_NAME_NETWORK,
                                       .summary = strerror(-r), .message = strerror(-r) };
                t->cb->on_done(t, &res, t->userdata);
        }
}

static void on_request_done(EngineRequest *r, CURLcode code) {
        Transfer *t = (Transfer *) r;

        /* curl resolves the Location against the request URL once the response ended. */
        if (code == CURLE_OK && status_is_redirect(t->status) && t->have_location) {
                char *location = NULL;
                if (curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
                        t->redirect_url = strdup(location);
        }
        /* The handle is out of the multi; the owner hears of it and frees the Transfer. */
        curl_easy_cleanup(t->easy);
        t->easy = t->req.easy = NULL;
        curl_slist_free_all(t->headers);
        t->headers = NULL;
        if (t->redirect_url) {
                follow_redirect(t);
                return;
        }
        if (t->wlen > 0)
                (void) write_buffer_flush(t);  /* a failure shows as write_errno */
        transfer_finish(t, code);
}

static int append_header(struct curl_slist **l, const char *h) {
        struct curl_slist *n = curl_slist_append(*l, h);

        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

/* One request for t->url: a new easy handle on the engine. */
static int transfer_request(Transfer *t) {
        _cleanup_free_ char *origin = http_url_origin(t->url);
        char range[64];
        int r;

        t->easy = curl_easy_init();
        if (!t->easy)
                return -ENOMEM;
        t->redirect_url = mfree(t->redirect_url);

        /* The job's headers (credentials, often) go only where the job said. */
        if (origin && t->origin && streq(origin, t->origin))
                for (char **h = t->job_headers; h && *h; h++)
                        if (append_header(&t->headers, *h) < 0)
                                return -ENOMEM;
        if (append_header(&t->headers, SERVER_DIGEST_WANT_HEADER) < 0)
                return -ENOMEM;
        if (t->offset > 0 && t->validator) {
                _cleanup_free_ char *h = NULL;
                if (asprintf(&h, "If-Range: %s", t->validator) < 0 || append_header(&t->headers, h) < 0)
                        return -ENOMEM;
        }

        CURL *c = t->easy;
        r = engine_setup_easy(t->engine, c, t->url, t->allow_insecure_redirect);
        if (r < 0)
                return r;
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_curl_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_curl_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
        /* Larger reads mean fewer wake-ups and write() calls per megabyte. */
        (void) curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024L);
        if (t->offset > 0) {
                snprintf(range, sizeof range, "%" PRIu64 "-", t->offset);
                (void) curl_easy_setopt(c, CURLOPT_RANGE, range);
        }

        t->req.easy = c;
        t->req.done = on_request_done;
        r = engine_add(t->engine, &t->req);
        if (r < 0) {
                curl_easy_cleanup(c);
                t->easy = t->req.easy = NULL;
        }
        return r;
}

int transfer_start(Engine *e, const TransferRequest *req, const TransferCallbacks *cb,
                   void *userdata, Transfer **ret) {
        Transfer *t;
        int r = -ENOMEM;

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
        t->position = t->flushed = req->offset;  /* the bytes held are on their way to disk already */
        t->total = UINT64_MAX;
        t->content_length = UINT64_MAX;
        t->allow_insecure_redirect = req->allow_insecure_redirect;
        token_bucket_init(&t->bucket, req->max_speed, engine_now(e));
        t->check = (BodyCheck) {
                .hasher = req->hasher,
                .expect_size = req->expect_size,
                .expected_size = req->expected_size,
                .max_size = req->max_size,
        };
        t->url = strdup(req->url);
        t->origin = http_url_origin(req->origin_url ? req->origin_url : req->url);
        if (!t->url || (req->headers && !(t->job_headers = strv_copy(req->headers))) ||
            (req->offset > 0 && req->validator && !(t->validator = strdup(req->validator))))
                goto fail;

        r = transfer_request(t);
        if (r < 0)
                goto fail;
        *ret = t;
        return 0;

fail:
        transfer_free(t);
        return r;
}

Transfer *transfer_free(Transfer *t) {
        if (!t)
                return NULL;
        if (t->easy) {
                /* After this, curl calls none of our callbacks for it: no byte is written. */
                engine_remove(t->engine, &t->req);
                curl_easy_cleanup(t->easy);
        }
        free(t->wbuf);
        sd_event_source_disable_unref(t->flush_source);
        sd_event_source_disable_unref(t->resume_timer);
        curl_slist_free_all(t->headers);
        strv_free(t->job_headers);
        free(t->validator);
        free(t->origin);
        free(t->redirect_url);
        free(t->etag);
        free(t->last_modified);
        free(t->url);
        body_check_done(&t->check);
        free(t);
        return NULL;
}

int transfer_stop(Transfer *t) {
        assert(t);

        if (t->easy) {
                engine_remove(t->engine, &t->req);
                curl_easy_cleanup(t->easy);
                t->easy = t->req.easy = NULL;
        }
        if (t->wlen > 0 && !write_buffer_flush(t))
                return -t->write_errno;
        return 0;
}

bool transfer_is_paused(const Transfer *t) {
        assert(t);

        return t->paused;
}

uint64_t transfer_get_position(const Transfer *t) {
        assert(t);

        return t->position + t->wlen;
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

int transfer_set_max_speed(Transfer *t, uint64_t bytes_per_sec) {
        assert(t);

        if (t->bucket.rate == bytes_per_sec)
                return 0;
        token_bucket_set_rate(&t->bucket, bytes_per_sec, engine_now(t->engine));
        /* A paused transfer waits for the new rate's debt, or not at all without a limit. */
        if (t->paused && (t->bucket.rate == 0 || !bucket_must_wait(t))) {
                t->paused = false;
                (void) sd_event_source_set_enabled(t->resume_timer, SD_EVENT_OFF);
                if (t->easy)
                        (void) curl_easy_pause(t->easy, CURLPAUSE_CONT);
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
        else if (t->restart)
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
                         t->position, t->total, t->url);
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
