/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Debian's Varnish as a subprocess of a test: the site cache of
 * docs/fleet/varnish.vcl in front of one origin of the test. Never the
 * machine's varnish service: varnishd runs in the foreground (-F) on a free
 * port of 127.0.0.1 with its working directory in a temporary directory of its
 * own, memory storage, no management port, and ends with the test.
 *
 * The VCL is the documented one with its origin (the lines marked "origin")
 * pointed at the test's origin, so the tests check what the documentation
 * tells sites to run.
 *
 * When varnishd cannot run here, varnish_cache_new() skips the test, or fails
 * it when CI=true, and returns NULL.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct VarnishCache VarnishCache;

/* Starts varnishd for the origin at 127.0.0.1:origin_port and waits until it accepts
 * connections. NULL when it cannot run here (see above). */
VarnishCache *varnish_cache_new (guint16 origin_port);
void varnish_cache_free (VarnishCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VarnishCache, varnish_cache_free)

/* "127.0.0.1:PORT", for CacheHost=. */
const char *varnish_cache_host (VarnishCache *cache);

G_END_DECLS
