/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cache-route.h"
#include "util.h"

struct CacheRoute {
        Engine *engine;
        char *job_proxy;
        ProxyRouteKind kind;            /* of the request under way */
        bool skip_cache;                /* the cache failed for this file */
        uint64_t from_cache, from_origin;

        /* The silence watch: one timer, moved on only when it fires, and the time of the last
         * byte, which every chunk sets (engine_now() is cached per loop iteration). */
        sd_event_source *silence_timer;
        uint64_t heard_usec;
        void (*silent)(void *userdata);
        void *userdata;
};

int cache_route_new(Engine *e, const char *job_proxy, void (*silent)(void *userdata), void *userdata,
                    CacheRoute **ret) {
        _cleanup_free_ CacheRoute *c = NULL;

        assert(e);
        assert(silent);
        assert(ret);

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (CacheRoute) { .engine = e, .silent = silent, .userdata = userdata };
        if (!isempty(job_proxy) && !(c->job_proxy = strdup(job_proxy)))
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

CacheRoute *cache_route_free(CacheRoute *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->silence_timer);
        free(c->job_proxy);
        return mfree(c);
}

static uint64_t fallback_usec(const CacheRoute *c) {
        return engine_get_network(c->engine)->cache_fallback_usec;
}

static int on_silence_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CacheRoute *c = userdata;
        uint64_t due = c->heard_usec + fallback_usec(c);

        if (engine_now(c->engine) < due) {
                /* Bytes came meanwhile: look again when this silence would be long enough. */
                (void) sd_event_source_set_time(s, due);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        c->silent(c->userdata);
        return 0;
}

static void watch(CacheRoute *c, bool on) {
        uint64_t due;

        if (!on) {
                (void) sd_event_source_set_enabled(c->silence_timer, SD_EVENT_OFF);
                return;
        }
        c->heard_usec = engine_now(c->engine);
        due = c->heard_usec + fallback_usec(c);
        if (!c->silence_timer) {
                /* Without the watch, curl's speed check still ends a silent cache, later. */
                if (sd_event_add_time(engine_get_event(c->engine), &c->silence_timer, CLOCK_MONOTONIC, due,
                                      USEC_PER_SEC / 10, on_silence_timer, c) < 0)
                        return;
                (void) sd_event_source_set_description(c->silence_timer, "cache-silence");
                return;
        }
        (void) sd_event_source_set_time(c->silence_timer, due);
        (void) sd_event_source_set_enabled(c->silence_timer, SD_EVENT_ONESHOT);
}

int cache_route_setup(CacheRoute *c, CURL *easy, const char *url) {
        int r;

        assert(c);
        assert(easy);
        assert(url);

        r = engine_setup_route(c->engine, easy, url, c->job_proxy, c->skip_cache, &c->kind);
        if (r < 0)
                return r;
        watch(c, c->kind == PROXY_ROUTE_CACHE && fallback_usec(c) > 0);
        return 0;
}

void cache_route_received(CacheRoute *c, size_t n) {
        assert(c);

        if (c->kind == PROXY_ROUTE_CACHE) {
                c->from_cache += n;
                c->heard_usec = engine_now(c->engine);
        } else
                c->from_origin += n;
}

void cache_route_kick(CacheRoute *c) {
        assert(c);
        c->heard_usec = engine_now(c->engine);
}

bool cache_route_fall_back(CacheRoute *c, CURLcode code, long status, bool truncated) {
        assert(c);

        watch(c, false);
        if (c->kind != PROXY_ROUTE_CACHE || fallback_usec(c) == 0 || !proxy_cache_failed(code, status, truncated))
                return false;
        c->skip_cache = true;
        return true;
}

uint64_t cache_route_bytes_from_cache(const CacheRoute *c) {
        assert(c);
        return c->from_cache;
}

uint64_t cache_route_bytes_from_origin(const CacheRoute *c) {
        assert(c);
        return c->from_origin;
}
