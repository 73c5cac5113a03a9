/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "safe-text.h"
#include "url-strip.h"

static size_t utf8_sequence_length(unsigned char lead) {
        if (lead < 0x80)
                return 1;
        if (lead >= 0xc2 && lead <= 0xdf)
                return 2;
        if ((lead & 0xf0) == 0xe0)
                return 3;
        if (lead >= 0xf0 && lead <= 0xf4)
                return 4;
        return 0;
}

size_t utf8_decode(const char *s, uint32_t *ret_cp) {
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

bool unicode_is_control(uint32_t cp) {
        return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* The noncharacters U+FDD0..U+FDEF and U+xFFFE/U+xFFFF of every plane: valid UTF-8, but
 * sd-bus refuses to send or read a string holding one (the whole message fails). */
static bool unicode_is_noncharacter(uint32_t cp) {
        return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/* What becomes U+FFFD: what a terminal acts on, and what D-Bus cannot carry. */
static bool unicode_is_unsafe(uint32_t cp) {
        return unicode_is_control(cp) || unicode_is_noncharacter(cp);
}

/* Whether s starts with the beginning of a sequence that the end of the string cut short. */
static bool utf8_cut_short(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t need = utf8_sequence_length(p[0]);

        if (need < 2)
                return false;
        for (size_t i = 1; i < need; i++) {
                if (p[i] == 0)
                        return true;
                if ((p[i] & 0xc0) != 0x80)
                        return false;
        }
        return false;
}

bool safe_text_is_clean(const char *s) {
        assert(s);

        while (*s) {
                uint32_t cp;
                size_t len = utf8_decode(s, &cp);

                if (len == 0 || unicode_is_unsafe(cp))
                        return false;
                s += len;
        }
        return true;
}

char *safe_text_copy(char *buf, size_t size, const char *s) {
        size_t j = 0;

        assert(buf);
        assert(size > 0);
        assert(s);

        while (*s) {
                const char *piece = s;
                uint32_t cp;
                size_t len = utf8_decode(s, &cp), n = len;

                if (len == 0) {
                        if (utf8_cut_short(s))
                                break;
                        piece = SAFE_TEXT_REPLACEMENT, n = strlen(SAFE_TEXT_REPLACEMENT);
                        len = 1;
                } else if (unicode_is_unsafe(cp))
                        piece = SAFE_TEXT_REPLACEMENT, n = strlen(SAFE_TEXT_REPLACEMENT);
                if (n > size - 1 - j)
                        break;  /* cut here, between two characters */
                memcpy(buf + j, piece, n);
                j += n;
                s += len;
        }
        buf[j] = 0;
        return buf;
}

char *safe_text_dup(const char *s, size_t max) {
        size_t n, size;
        char *buf;

        assert(s);

        /* Each input byte becomes at most the 3 bytes of U+FFFD. */
        n = strlen(s);
        size = n > (SIZE_MAX - 1) / 3 ? SIZE_MAX : n * 3 + 1;
        if (max < size - 1)
                size = max + 1;
        buf = malloc(size);
        if (!buf)
                return NULL;
        return safe_text_copy(buf, size, s);
}

char *safe_message_copy(char *buf, size_t size, const char *s) {
        char *stripped;

        assert(buf);
        assert(size > 0);
        assert(s);

        stripped = text_strip_urls(s);
        if (!stripped)
                /* Out of memory: a message without its URLs is better than one with secrets. */
                return safe_text_copy(buf, size, strstr(s, "://") ? "(message withheld: out of memory)" : s);
        safe_text_copy(buf, size, stripped);
        free(stripped);
        return buf;
}

char *safe_message_dup(const char *s, size_t max) {
        char *stripped, *r;

        assert(s);

        stripped = text_strip_urls(s);
        if (!stripped)
                return NULL;
        r = safe_text_dup(stripped, max);
        free(stripped);
        return r;
}

void utf8_trim_partial(char *s) {
        size_t n;

        assert(s);

        n = strlen(s);
        /* A sequence is at most 4 bytes: look back at most 3 for its lead byte. */
        for (size_t back = 1; back <= 3 && back <= n; back++) {
                unsigned char c = (unsigned char) s[n - back];

                if ((c & 0xc0) == 0x80)
                        continue;       /* a continuation byte: the lead is further back */
                if (utf8_sequence_length(c) > back)
                        s[n - back] = 0;
                return;
        }
}
