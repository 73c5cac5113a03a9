/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* URLs carry credentials: "user:password@" in the authority, tokens in the query, sometimes in
 * the fragment. What a person reads about a URL — a log line, an error message, a property —
 * shows it stripped of those three: scheme, host, port and path only. */

#include <stddef.h>

/* Writes the stripped form of url to buf (size bytes, at least 1), cut to fit. Returns buf. */
char *url_strip(char *buf, size_t size, const char *url);

/* A copy of text in which every URL ("scheme://…" up to white space) is stripped like that:
 * the net under every message that may name a URL. NULL when out of memory. */
char *text_strip_urls(const char *text);
