/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The way of one file's requests: through the site's cache (CacheHost) while it serves, to the
 * origin for the rest of the file once it failed. Counts the body bytes by the way they came,
 * and watches a request through the cache for silence (no byte for CacheFallbackSec), which
 * curl's own speed check, averaged over five seconds, notices late. Knows nothing of jobs. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

typedef struct CacheRoute CacheRoute;

/* job_proxy: the job's Proxy (NULL or empty: the daemon's settings). silent(userdata) is
 * called when a request through the cache has been silent for CacheFallbackSec; the caller
 * then ends the request as timed out, or calls cache_route_kick() when the silence is its own
 * (a bandwidth pause). */
int cache_route_new(Engine *e, const char *job_proxy, void (*silent)(void *userdata), void *userdata,
                    CacheRoute **ret);
CacheRoute *cache_route_free(CacheRoute *c);

/* Points a request for url at its route (engine_setup_route()) and, through the cache, starts
 * watching it for silence. */
int cache_route_setup(CacheRoute *c, CURL *easy, const char *url);
/* n body bytes of the request under way arrived. */
void cache_route_received(CacheRoute *c, size_t n);
/* Counts as a byte for the silence watch. */
void cache_route_kick(CacheRoute *c);
/* The request under way ended (see proxy_cache_failed()). True when it went through the cache
 * and the cache failed: the rest of the file must come from the origin, and every later
 * request of this route goes there. */
bool cache_route_fall_back(CacheRoute *c, CURLcode code, long status, bool truncated);

uint64_t cache_route_bytes_from_cache(const CacheRoute *c);
uint64_t cache_route_bytes_from_origin(const CacheRoute *c);
