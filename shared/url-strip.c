/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "url-strip.h"

static size_t span_find(const char *s, size_t n, const char *chars) {
        for (size_t i = 0; i < n; i++)
                if (strchr(chars, s[i]))
                        return i;
        return n;
}

/* "user:pa" of "user:pa/ss@host": a ':' that no port follows (digits to the end), outside an
 * IPv6 literal. */
static bool authority_looks_cut(const char *s, size_t n) {
        size_t colon = n;

        if (n == 0 || s[0] == '[')
                return false;
        for (size_t i = 0; i < n && colon == n; i++)
                if (s[i] == ':')
                        colon = i;
        if (colon == n)
                return false;
        if (colon + 1 == n)
                return true;    /* "user:" and a password that starts with '/' */
        for (size_t i = colon + 1; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return true;
        return false;
}

/* Writes the stripped form of the n bytes at url to out, which has room for n bytes; returns
 * how many it wrote (never more than n). */
static size_t strip_span(const char *url, size_t n, char *out) {
        size_t authority = 0, authority_end, rest, j = 0;

        for (size_t i = 0; i + 3 <= n; i++)
                if (memcmp(url + i, "://", 3) == 0) {
                        authority = i + 3;
                        break;
                }
        authority_end = authority + span_find(url + authority, n - authority, "/?#");

        /* The user info ends at the last '@' of the authority; a password may hold another. */
        size_t host = authority;
        for (size_t i = authority; i < authority_end; i++)
                if (url[i] == '@')
                        host = i + 1;
        /* A password typed with an unencoded '/', '?' or '#' ends the authority early, before
         * its '@': what is left then is "user:pa", no host and port. Strip to the last '@' of the
         * URL instead; a path's '@' cut with it only shortens what a message shows. */
        if (host == authority && authority_looks_cut(url + authority, authority_end - authority))
                for (size_t i = authority_end; i < n; i++)
                        if (url[i] == '@')
                                host = i + 1;

        memcpy(out, url, authority);
        j = authority;
        rest = span_find(url + host, n - host, "?#");
        memcpy(out + j, url + host, rest);
        return j + rest;
}

char *url_strip(char *buf, size_t size, const char *url) {
        size_t n;
        char *tmp;

        assert(buf);
        assert(size > 0);
        assert(url);

        n = strlen(url);
        tmp = malloc(n + 1);
        if (!tmp) {
                /* Nothing of the URL rather than all of it. */
                buf[0] = 0;
                return buf;
        }
        n = strip_span(url, n, tmp);
        if (n > size - 1)
                n = size - 1;
        memcpy(buf, tmp, n);
        buf[n] = 0;
        free(tmp);
        return buf;
}

static bool is_scheme_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *text_strip_urls(const char *text) {
        size_t n, i = 0, j = 0;
        char *out;

        assert(text);

        n = strlen(text);
        out = malloc(n + 1);
        if (!out)
                return NULL;

        while (i < n) {
                const char *sep = strstr(text + i, "://");
                size_t start, end;

                if (!sep)
                        break;
                /* Back from "://" over the scheme, which starts with a letter. */
                start = (size_t) (sep - text);
                while (start > i && is_scheme_char(text[start - 1]))
                        start--;
                while (start < (size_t) (sep - text) &&
                       !((text[start] >= 'a' && text[start] <= 'z') || (text[start] >= 'A' && text[start] <= 'Z')))
                        start++;
                end = (size_t) (sep - text) + 3;
                while (end < n && !is_space(text[end]))
                        end++;
                /* Punctuation that closes a sentence or a quote is the message's, not the URL's. */
                while (end > (size_t) (sep - text) + 3 && strchr(")]}>'\",;.!", text[end - 1]))
                        end--;

                memcpy(out + j, text + i, start - i);
                j += start - i;
                j += strip_span(text + start, end - start, out + j);
                i = end;
        }
        memcpy(out + j, text + i, n - i);
        j += n - i;
        out[j] = 0;
        return out;
}
