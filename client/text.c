/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "text.h"

size_t text_utf8_decode(const char *s, uint32_t *ret_cp) {
        const unsigned char *p = (const unsigned char *) s;
        uint32_t cp, min;
        size_t len;

        assert(s);
        assert(ret_cp);

        if (p[0] == 0)
                return 0;
        if (p[0] < 0x80) {
                *ret_cp = p[0];
                return 1;
        }
        if ((p[0] & 0xe0) == 0xc0) {
                len = 2, cp = p[0] & 0x1f, min = 0x80;
        } else if ((p[0] & 0xf0) == 0xe0) {
                len = 3, cp = p[0] & 0x0f, min = 0x800;
        } else if ((p[0] & 0xf8) == 0xf0) {
                len = 4, cp = p[0] & 0x07, min = 0x10000;
        } else
                return 0;

        for (size_t i = 1; i < len; i++) {
                /* A NUL terminator fails this test too, so we never read past the string. */
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }

        /* Overlong forms, surrogates and values past Unicode are not valid UTF-8. */
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;

        *ret_cp = cp;
        return len;
}

static bool is_control(uint32_t cp) {
        return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

char *text_sanitize(const char *s) {
        size_t n, j = 0;
        char *out;

        assert(s);

        n = strlen(s);
        /* Worst case: every byte becomes "\xNN" (4 bytes); a C1 code point is 2 bytes in and
         * "\uNNNN" (6) out, i.e. 3 per byte, less than 4. */
        out = malloc(n * 4 + 1);
        if (!out)
                return NULL;

        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t len = text_utf8_decode(s + i, &cp);

                if (len == 0) {
                        j += (size_t) sprintf(out + j, "\\x%02x", (unsigned char) s[i]);
                        i++;
                        continue;
                }

                if (!is_control(cp)) {
                        memcpy(out + j, s + i, len);
                        j += len;
                } else if (cp == '\n') {
                        memcpy(out + j, "\\n", 2), j += 2;
                } else if (cp == '\t') {
                        memcpy(out + j, "\\t", 2), j += 2;
                } else if (cp == '\r') {
                        memcpy(out + j, "\\r", 2), j += 2;
                } else if (cp < 0x80)
                        j += (size_t) sprintf(out + j, "\\x%02x", (unsigned) cp);
                else
                        j += (size_t) sprintf(out + j, "\\u%04x", (unsigned) cp);
                i += len;
        }
        out[j] = 0;
        return out;
}

static size_t codepoint_width(uint32_t cp) {
        int w = wcwidth((wchar_t) cp);

        /* In a non-UTF-8 locale wcwidth() knows nothing beyond ASCII: count one column, the
         * terminal most likely shows one glyph. */
        if (w < 0)
                return 1;
        return (size_t) w;
}

size_t text_width(const char *s) {
        size_t width = 0;

        assert(s);

        while (*s) {
                uint32_t cp;
                size_t len = text_utf8_decode(s, &cp);

                if (len == 0) {
                        width++;
                        s++;
                        continue;
                }
                width += codepoint_width(cp);
                s += len;
        }
        return width;
}

char *text_truncate(const char *s, size_t width) {
        static const char ellipsis[] = "…";
        size_t used = 0, i = 0, cut = 0;
        char *out;

        assert(s);

        if (text_width(s) <= width)
                return strdup(s);

        /* Keep room for the one-column ellipsis. */
        while (s[i]) {
                uint32_t cp;
                size_t len = text_utf8_decode(s + i, &cp), w;

                if (len == 0)
                        len = 1, w = 1;
                else
                        w = codepoint_width(cp);
                if (used + w + 1 > width)
                        break;
                used += w;
                i += len;
                cut = i;
        }

        if (width == 0)
                return strdup("");

        out = malloc(cut + sizeof ellipsis);
        if (!out)
                return NULL;
        memcpy(out, s, cut);
        memcpy(out + cut, ellipsis, sizeof ellipsis);
        return out;
}
