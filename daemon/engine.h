/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One libcurl multi handle driven by sd-event: curl's sockets become IO sources, curl's timer
 * one one-shot time source, and every finished request is handed back to its owner. Downloads
 * (transfer.c) and tus uploads (tus.c) share it, and with it one connection pool. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "proxy.h"

typedef struct Engine Engine;

typedef struct EngineSettings {
        uint64_t connect_timeout_usec;
        uint64_t stall_timeout_usec;    /* no byte for this long → CURLE_OPERATION_TIMEDOUT */
        ProxySettings network;          /* [Network]: proxies, the cache, extra CAs; not owned */
} EngineSettings;

/* Embedded in whatever owns an easy handle. */
typedef struct EngineRequest {
        CURL *easy;
        bool added;
        /* Called once the handle has left the multi; the owner may free or reuse it. */
        void (*done)(struct EngineRequest *r, CURLcode code);
        /* engine_release_later(): frees the owner once the handle is gone; never done(). */
        void (*destroy)(struct EngineRequest *r);
        ListNode retired;
} EngineRequest;

int engine_new(sd_event *event, const EngineSettings *settings, Engine **ret);
Engine *engine_free(Engine *e);
static inline void engine_freep(Engine **e) {
        engine_free(*e);
}
sd_event *engine_get_event(Engine *e);
uint64_t engine_now(Engine *e);  /* CLOCK_MONOTONIC, cached per loop iteration */

/* Applies what every request of xferd shares: no signals, timeouts, keep-alive, the user
 * agent, only http/https (also after redirects; https → http only if allowed), the extra CAs,
 * and the daemon's route for url (its Proxy and NoProxy; never the cache). */
int engine_setup_easy(Engine *e, CURL *easy, const char *url, bool allow_insecure_redirect);
/* Points the request at its route for url instead (see proxy_route()): job_proxy is the
 * job's Proxy (NULL or empty: the daemon's), skip_cache keeps it off the cache. Through the
 * cache, CacheFallbackSec bounds connecting and silence instead of the usual timeouts. */
int engine_setup_route(Engine *e, CURL *easy, const char *url, const char *job_proxy, bool skip_cache,
                       ProxyRouteKind *ret_kind);
const ProxySettings *engine_get_network(Engine *e);

int engine_add(Engine *e, EngineRequest *r);
/* Takes the handle out of the multi at once (no callback of it runs after); idempotent. */
void engine_remove(Engine *e, EngineRequest *r);
/* Removes the request and frees its handle (r->easy becomes NULL); nothing when it has none. */
void engine_release(Engine *e, EngineRequest *r);
/* The same a little later (3 ms: after the reply a call waits for), then destroy(r):
 * curl_multi_remove_handle() closes a connection cut short, which cost a Cancel's reply
 * 0.1 ms before it. Until then curl may still call the owner's callbacks, which must do
 * nothing but pause the request (CURL_WRITEFUNC_PAUSE) or end it (0). Its done() is never
 * called. XFERD_TEST_TEARDOWN_DELAY=SECONDS holds these releases for SECONDS (tests). */
void engine_release_later(Engine *e, EngineRequest *r, void (*destroy)(EngineRequest *r));
