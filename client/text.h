/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text shown on a terminal. Names, URLs and messages come from other users or servers, so
 * they are sanitized before printing: control characters could otherwise move the cursor,
 * change colours or hide text. */

#include <stddef.h>
#include <stdint.h>

/* A copy of s with control characters (C0, DEL, C1) and invalid UTF-8 bytes escaped as
 * \n, \t, \xNN or \uNNNN. NULL on allocation failure. */
char *text_sanitize(const char *s);

/* Terminal columns that s takes (s being sanitized UTF-8). */
size_t text_width(const char *s);

/* A copy of s cut to at most width columns, ending in "…" when something was cut. */
char *text_truncate(const char *s, size_t width);
