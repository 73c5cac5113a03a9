/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* URLs carry credentials: "user:password@" in the authority, tokens in the query, sometimes in
 * the fragment. What a person reads about a URL — a log line, an error message, a property —
 * shows it stripped of those three: scheme, host, port and path only. */

#include <stddef.h>

/* Writes the stripped form of url to buf (size bytes, at least 1), cut to fit. Returns buf. */
char *url_strip(char *buf, size_t size, const char *url);

/* Room for a URL as a message shows it: the longest URL a job accepts, stripped. */
#define URL_SHOWN_MAX 2304

/* The stripped form of url in a buffer that lives until the end of the caller's block: what a
 * log line or an error message passes for "%s" where it names a URL. */
#define URL_SHOWN(url) url_strip((char[URL_SHOWN_MAX]) { 0 }, URL_SHOWN_MAX, (url))

/* A copy of text in which every URL ("scheme://…" up to white space) is stripped like that:
 * the net under every message that may name a URL. NULL when out of memory. */
char *text_strip_urls(const char *text);
