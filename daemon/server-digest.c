/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <openssl/evp.h>
#include <strings.h>

#include "http-util.h"
#include "server-digest.h"
#include "util.h"

static const char *const field_names[_SERVER_DIGEST_FIELD_MAX] = {
        [SERVER_DIGEST_REPR] = "Repr-Digest",
        [SERVER_DIGEST_CONTENT] = "Content-Digest",
        [SERVER_DIGEST_LEGACY] = "Digest",
};

/* The algorithm keys of RFC 9530's registry that xferd computes; the others (md5, sha, crc32c,
 * …) are deprecated there and skipped. */
static const char *const dictionary_keys[_DIGEST_ALGORITHM_MAX] = {
        [DIGEST_SHA256] = "sha-256",
        [DIGEST_SHA512] = "sha-512",
};

const char *server_digest_field_to_string(ServerDigestField f) {
        return string_table_get(field_names, _SERVER_DIGEST_FIELD_MAX, f);
}

void server_digests_reset(ServerDigests *s) {
        assert(s);

        for (size_t i = 0; i < _SERVER_DIGEST_FIELD_MAX; i++)
                s->fields[i] = mfree(s->fields[i]);
        s->content_encoding = mfree(s->content_encoding);
}

/* Appends a field line's value to the list of the lines before it (RFC 9110 §5.3). */
static int combine(char **field, const char *v, size_t n) {
        char *joined;

        if (!*field)
                joined = strndup(v, n);
        else if (asprintf(&joined, "%s, %.*s", *field, (int) n, v) < 0)
                joined = NULL;
        if (!joined)
                return -ENOMEM;
        free(*field);
        *field = joined;
        return 0;
}

int server_digests_add_header(ServerDigests *s, const char *line, size_t len) {
        const char *v;
        size_t n;
        int r;

        assert(s);
        assert(line);

        for (size_t i = 0; i < _SERVER_DIGEST_FIELD_MAX; i++)
                if (http_header_value(line, len, field_names[i], &v, &n)) {
                        r = combine(&s->fields[i], v, n);
                        return r < 0 ? r : 1;
                }
        if (http_header_value(line, len, "Content-Encoding", &v, &n)) {
                r = combine(&s->content_encoding, v, n);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* ---- base64 ---------------------------------------------------------------------------- */

static bool is_base64_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/';
}

/* Decodes n characters of standard base64 (padding optional, as RFC 8941 asks parsers to
 * accept) into exactly `size` bytes; -EINVAL for anything else. */
static int base64_decode_exact(const char *s, size_t n, uint8_t *out, size_t size) {
        unsigned char in[4 * ((2 * DIGEST_SIZE_MAX + 2) / 3) + 4], buf[sizeof in];
        size_t chars = n, padding;

        while (chars > 0 && s[chars - 1] == '=')
                chars--;
        if (n - chars > 2 || chars + 4 > sizeof in)
                return -EINVAL;
        for (size_t i = 0; i < chars; i++)
                if (!is_base64_char(s[i]))
                        return -EINVAL;
        if (n != chars && n % 4 != 0)
                return -EINVAL;  /* padding, but not to a whole group */

        memcpy(in, s, chars);
        padding = (4 - chars % 4) % 4;
        if (padding == 3)
                return -EINVAL;
        memset(in + chars, '=', padding);

        /* EVP_DecodeBlock() counts the padding as zero bytes. */
        int k = EVP_DecodeBlock(buf, in, (int) (chars + padding));
        if (k < 0 || (size_t) k - padding != size)
                return -EINVAL;
        memcpy(out, buf, size);
        return 0;
}

/* ---- RFC 8941 dictionaries ------------------------------------------------------------- */

typedef struct Cursor {
        const char *p;
} Cursor;

static bool is_lcalpha(char c) {
        return c >= 'a' && c <= 'z';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* tchar of RFC 9110, plus ':' and '/' as sf-token allows. */
static bool is_token_char(char c) {
        return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~:/", c));
}

static void skip_sp(Cursor *c) {
        while (*c->p == ' ')
                c->p++;
}

static void skip_ows(Cursor *c) {
        while (*c->p == ' ' || *c->p == '\t')
                c->p++;
}

static int parse_key(Cursor *c, const char **ret, size_t *ret_len) {
        const char *start = c->p;

        if (!is_lcalpha(*c->p) && *c->p != '*')
                return -EBADMSG;
        while (is_lcalpha(*c->p) || is_digit(*c->p) || (*c->p && strchr("_-.*", *c->p)))
                c->p++;
        *ret = start;
        *ret_len = (size_t) (c->p - start);
        return 0;
}

/* A bare item; for a byte sequence, ret_bytes and ret_bytes_len point at its base64 text. */
static int parse_bare_item(Cursor *c, const char **ret_bytes, size_t *ret_bytes_len) {
        *ret_bytes = NULL;
        *ret_bytes_len = 0;

        if (*c->p == '-' || is_digit(*c->p)) {            /* integer or decimal */
                size_t digits = 0, fraction = 0;
                if (*c->p == '-')
                        c->p++;
                for (; is_digit(*c->p); c->p++)
                        digits++;
                if (*c->p == '.') {
                        c->p++;
                        for (; is_digit(*c->p); c->p++)
                                fraction++;
                        return digits >= 1 && digits <= 12 && fraction >= 1 && fraction <= 3 ? 0 : -EBADMSG;
                }
                return digits >= 1 && digits <= 15 ? 0 : -EBADMSG;
        }
        if (*c->p == '"') {                                 /* string */
                for (c->p++; *c->p != '"'; c->p++) {
                        if (*c->p == '\\') {
                                c->p++;
                                if (*c->p != '"' && *c->p != '\\')
                                        return -EBADMSG;
                        } else if (*c->p < 0x20 || *c->p > 0x7e)
                                return -EBADMSG;  /* also the end of the value */
                }
                c->p++;
                return 0;
        }
        if (*c->p == ':') {                                 /* byte sequence */
                const char *start = ++c->p;
                while (is_base64_char(*c->p) || *c->p == '=')
                        c->p++;
                if (*c->p != ':')
                        return -EBADMSG;
                *ret_bytes = start;
                *ret_bytes_len = (size_t) (c->p - start);
                c->p++;
                return 0;
        }
        if (*c->p == '?') {                                 /* boolean */
                c->p++;
                if (*c->p != '0' && *c->p != '1')
                        return -EBADMSG;
                c->p++;
                return 0;
        }
        if (is_alpha(*c->p) || *c->p == '*') {              /* token */
                while (is_token_char(*c->p))
                        c->p++;
                return 0;
        }
        return -EBADMSG;
}

static int parse_parameters(Cursor *c) {
        const char *key, *b;
        size_t key_len, b_len;
        int r;

        while (*c->p == ';') {
                c->p++;
                skip_sp(c);
                r = parse_key(c, &key, &key_len);
                if (r < 0)
                        return r;
                if (*c->p == '=') {
                        c->p++;
                        r = parse_bare_item(c, &b, &b_len);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_item_or_inner_list(Cursor *c, const char **ret_bytes, size_t *ret_bytes_len) {
        const char *b;
        size_t b_len;
        int r;

        *ret_bytes = NULL;
        *ret_bytes_len = 0;
        if (*c->p != '(') {
                r = parse_bare_item(c, ret_bytes, ret_bytes_len);
                return r < 0 ? r : parse_parameters(c);
        }
        /* An inner list: no digest, but it must parse for the rest of the field to count. */
        c->p++;
        for (;;) {
                skip_sp(c);
                if (*c->p == ')') {
                        c->p++;
                        return parse_parameters(c);
                }
                r = parse_bare_item(c, &b, &b_len);
                if (r < 0)
                        return r;
                r = parse_parameters(c);
                if (r < 0)
                        return r;
                if (*c->p != ' ' && *c->p != ')')
                        return -EBADMSG;
        }
}

int server_digest_parse_dictionary(const char *value, Digest found[static _DIGEST_ALGORITHM_MAX]) {
        Digest seen[_DIGEST_ALGORITHM_MAX];
        unsigned mask = 0;
        Cursor c = { value };
        int r;

        assert(value);
        assert(found);

        skip_sp(&c);
        if (!*c.p)
                return -EBADMSG;  /* an empty field is as if absent */
        for (;;) {
                const char *key, *b = NULL;
                size_t key_len, b_len = 0;

                r = parse_key(&c, &key, &key_len);
                if (r < 0)
                        return r;
                if (*c.p == '=') {
                        c.p++;
                        r = parse_item_or_inner_list(&c, &b, &b_len);
                } else
                        r = parse_parameters(&c);  /* a member that is boolean true */
                if (r < 0)
                        return r;

                for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++) {
                        if (strlen(dictionary_keys[a]) != key_len || memcmp(key, dictionary_keys[a], key_len) != 0)
                                continue;
                        /* A later member replaces an earlier one, also with a value of another type. */
                        mask &= ~DIGEST_ALGORITHM_BIT(a);
                        seen[a] = (Digest) { .algorithm = a };
                        if (b && base64_decode_exact(b, b_len, seen[a].bytes, digest_algorithm_size(a)) >= 0)
                                mask |= DIGEST_ALGORITHM_BIT(a);
                }

                skip_ows(&c);
                if (!*c.p)
                        break;
                if (*c.p != ',')
                        return -EBADMSG;
                c.p++;
                skip_ows(&c);
                if (!*c.p)
                        return -EBADMSG;  /* a trailing comma */
        }

        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if (mask & DIGEST_ALGORITHM_BIT(a))
                        found[a] = seen[a];
        return (int) mask;
}

/* ---- RFC 3230 ---------------------------------------------------------------------------- */

/* "SHA-256=<base64>, SHA-512=<base64>": algorithm names in any case (RFC 5843), padding kept. */
int server_digest_parse_legacy(const char *value, Digest found[static _DIGEST_ALGORITHM_MAX]) {
        unsigned mask = 0;
        const char *p = value;

        assert(value);
        assert(found);

        for (;;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *name = p;
                while (*p && *p != '=' && *p != ',')
                        p++;
                if (*p != '=' || p == name)
                        return -EBADMSG;
                size_t name_len = (size_t) (p - name);
                const char *v = ++p;
                while (*p && *p != ',')
                        p++;
                const char *end = p;
                while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                        end--;

                for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                        if (strlen(dictionary_keys[a]) == name_len &&
                            strncasecmp(name, dictionary_keys[a], name_len) == 0) {
                                /* A value of the wrong size is ignored, as in a dictionary. */
                                Digest d = { .algorithm = a };
                                mask &= ~DIGEST_ALGORITHM_BIT(a);
                                size_t size = digest_algorithm_size(a);
                                if (base64_decode_exact(v, (size_t) (end - v), d.bytes, size) >= 0) {
                                        found[a] = d;
                                        mask |= DIGEST_ALGORITHM_BIT(a);
                                }
                        }

                if (!*p)
                        return (int) mask;
                p++;  /* the comma */
        }
}

/* ---- choosing --------------------------------------------------------------------------- */

static bool content_coded(const ServerDigests *s) {
        const char *p = s->content_encoding;

        if (!p)
                return false;
        /* Anything but a list of "identity" is a coding. */
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        return false;
                if (strncasecmp(p, "identity", 8) != 0 || (p[8] && !strchr(" \t,", p[8])))
                        return true;
                p += 8;
        }
}

static int field_digest(const ServerDigests *s, ServerDigestField f, unsigned preferred, Digest *ret) {
        Digest found[_DIGEST_ALGORITHM_MAX];
        int mask;

        if (!s->fields[f])
                return 0;
        mask = f == SERVER_DIGEST_LEGACY ? server_digest_parse_legacy(s->fields[f], found)
                                          : server_digest_parse_dictionary(s->fields[f], found);
        if (mask <= 0)
                return 0;
        /* Preferred first, then the strongest (the algorithms are ordered by strength). */
        for (int pass = 0; pass < 2; pass++)
                for (int a = _DIGEST_ALGORITHM_MAX - 1; a >= 0; a--)
                        if ((mask & (int) DIGEST_ALGORITHM_BIT(a)) &&
                            (pass == 1 || (preferred & DIGEST_ALGORITHM_BIT(a)))) {
                                *ret = found[a];
                                return 1;
                        }
        return 0;
}

int server_digests_choose(const ServerDigests *s, long status, bool decoded, unsigned preferred,
                          ServerDigest *ret) {
        /* Whole-representation digests first; Content-Digest covers the whole only on a 200. */
        static const ServerDigestField order_200[] = {
                SERVER_DIGEST_REPR, SERVER_DIGEST_CONTENT, SERVER_DIGEST_LEGACY,
        };
        static const ServerDigestField order_206[] = {
                SERVER_DIGEST_REPR, SERVER_DIGEST_LEGACY, SERVER_DIGEST_CONTENT,
        };
        const ServerDigestField *order;
        Digest d;

        assert(s);
        assert(ret);

        if (status == 200)
                order = order_200;
        else if (status == 206)
                order = order_206;
        else
                return 0;
        /* Every field digests the bytes as sent, with their content coding. */
        if (decoded && content_coded(s))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(order_200); i++)
                if (field_digest(s, order[i], preferred, &d) > 0) {
                        *ret = (ServerDigest) {
                                .digest = d,
                                .field = order[i],
                                .partial = status == 206 && order[i] == SERVER_DIGEST_CONTENT,
                        };
                        return 1;
                }
        return 0;
}
