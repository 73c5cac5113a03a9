/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text that leaves a program: D-Bus strings, error messages, log lines, terminal output.
 * Much of it comes from servers and other users, so it may hold anything. sd-bus refuses to
 * send a string that is not valid UTF-8 (the whole reply or signal is lost), and control
 * characters on a terminal move the cursor, change colours or hide text. What goes out is
 * therefore made valid, clean UTF-8 by construction: invalid bytes, control characters and
 * the noncharacters sd-bus refuses (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) become U+FFFD, and text
 * is cut only between characters. Clean text is therefore always a valid D-Bus string. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define SAFE_TEXT_REPLACEMENT "\xef\xbf\xbd"

/* Decodes one UTF-8 sequence at s. Returns its length in bytes (1–4) and the code point, or 0
 * when s does not start with a valid, shortest-form sequence (or is at its end). */
size_t utf8_decode(const char *s, uint32_t *ret_cp);

/* C0 controls, DEL and C1 controls: what a terminal acts on instead of showing. */
bool unicode_is_control(uint32_t cp);

/* Whether s is valid UTF-8 without control characters or noncharacters. */
bool safe_text_is_clean(const char *s);

/* Writes s to buf (size bytes, at least 1) as valid UTF-8 without control characters: each
 * invalid byte, control character and noncharacter becomes U+FFFD; a sequence cut short by the end of
 * s (what snprintf() leaves when it truncates) is dropped. The result is cut to fit on a
 * character boundary. Returns buf. */
char *safe_text_copy(char *buf, size_t size, const char *s);

/* The same into new memory, at most max bytes long (SIZE_MAX: no limit); NULL when out of
 * memory. */
char *safe_text_dup(const char *s, size_t max);

/* What a message for a person becomes before it leaves the daemon (an error reply, a job's
 * ErrorMessage, a log line): every URL in it stripped of its credentials (url-strip.h), then
 * made safe as above. The _dup variant returns NULL when out of memory. */
char *safe_message_copy(char *buf, size_t size, const char *s);
char *safe_message_dup(const char *s, size_t max);

/* Cuts s in place after its last complete UTF-8 sequence (for buffers that snprintf() may have
 * cut inside a character). */
void utf8_trim_partial(char *s);
