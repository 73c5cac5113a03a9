/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "safe-text.h"
#include "text.h"

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
                size_t len = utf8_decode(s + i, &cp);

                if (len == 0) {
                        j += (size_t) sprintf(out + j, "\\x%02x", (unsigned char) s[i]);
                        i++;
                        continue;
                }

                if (!unicode_is_control(cp)) {
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
                size_t len = utf8_decode(s, &cp);

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
                size_t len = utf8_decode(s + i, &cp), w;

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
