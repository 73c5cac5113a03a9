/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "checksum-list.h"
#include "util.h"

#define NAME_MAX_BYTES 255

typedef struct Entry {
        char *name;
        Digest digest;
} Entry;

struct ChecksumList {
        Entry *entries;   /* sorted by name */
        size_t n;
};

ChecksumList *checksum_list_free(ChecksumList *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n; i++)
                free(l->entries[i].name);
        free(l->entries);
        return mfree(l);
}

size_t checksum_list_count(const ChecksumList *l) {
        assert(l);
        return l->n;
}

static bool name_is_valid(const char *s, size_t n) {
        if (n == 0 || n > NAME_MAX_BYTES || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || (unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->name, ((const Entry *) b)->name);
}

static int bad_line(char *error, size_t error_size, size_t line, const char *what) {
        if (error)
                snprintf(error, error_size, "Line %zu of the checksum list %s.", line, what);
        return -EBADMSG;
}

/* One line without its newline: "<hex> <' ' or '*'><name>". */
static int parse_line(const char *p, size_t len, size_t line, Entry *ret, char *error, size_t error_size) {
        size_t hex_len = 0;
        DigestAlgorithm a;

        if (len == 0)
                return bad_line(error, error_size, line, "is empty");
        while (hex_len < len && p[hex_len] != ' ')
                hex_len++;
        if (hex_len == len)
                return bad_line(error, error_size, line, "has no space after its digest");
        a = digest_algorithm_from_hex_length(hex_len);
        if (a < 0)
                return bad_line(error, error_size, line,
                                "does not start with 64 (SHA-256) or 128 (SHA-512) hex digits");
        if (digest_from_hex(a, p, hex_len, &ret->digest) < 0)
                return bad_line(error, error_size, line, "has a digest with a character that is not a hex digit");
        if (hex_len + 1 >= len || (p[hex_len + 1] != ' ' && p[hex_len + 1] != '*'))
                return bad_line(error, error_size, line,
                                "has no ' ' (text) or '*' (binary) marker after the space that follows its digest");

        const char *name = p + hex_len + 2;
        size_t name_len = len - hex_len - 2;
        if (!name_is_valid(name, name_len))
                return bad_line(error, error_size, line,
                                "names no valid file (empty, \".\", \"..\", with '/' or a control character, "
                                "or longer than 255 bytes)");
        ret->name = strndup(name, name_len);
        return ret->name ? 0 : -ENOMEM;
}

int checksum_list_parse(const char *text, size_t size, ChecksumList **ret, char *error, size_t error_size) {
        _cleanup_(checksum_list_freep) ChecksumList *l = NULL;
        size_t allocated = 0, line = 0;
        const char *p = text, *end = text + size;
        int r;

        assert(text || size == 0);
        assert(ret);
        assert(error || error_size == 0);

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        if (size > 0 && memchr(text, 0, size)) {
                if (error)
                        snprintf(error, error_size, "The checksum list holds a NUL byte: it is not a text file.");
                return -EBADMSG;
        }

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *eol = nl ? nl : end;

                line++;
                r = array_reserve((void **) &l->entries, &allocated, l->n + 1, sizeof *l->entries);
                if (r < 0)
                        return r;
                r = parse_line(p, (size_t) (eol - p), line, &l->entries[l->n], error, error_size);
                if (r < 0)
                        return r;
                l->n++;
                p = nl ? nl + 1 : end;
        }

        if (l->n > 0)
                qsort(l->entries, l->n, sizeof *l->entries, entry_compare);
        /* The same name twice: fine with the same digest, refused with two. */
        for (size_t i = 1; i < l->n; i++)
                if (streq(l->entries[i].name, l->entries[i - 1].name)) {
                        if (!digest_equal(&l->entries[i].digest, &l->entries[i - 1].digest)) {
                                if (error)
                                        snprintf(error, error_size,
                                                 "The checksum list gives two different digests for one file name.");
                                return -EBADMSG;
                        }
                        free(l->entries[i].name);
                        memmove(l->entries + i, l->entries + i + 1, (l->n - i - 1) * sizeof *l->entries);
                        l->n--;
                        i--;
                }

        *ret = TAKE_PTR(l);
        return 0;
}

const Digest *checksum_list_find(const ChecksumList *l, const char *name) {
        Entry key = { .name = (char *) name };
        const Entry *e;

        assert(l);
        assert(name);

        if (l->n == 0)
                return NULL;
        e = bsearch(&key, l->entries, l->n, sizeof *l->entries, entry_compare);
        return e ? &e->digest : NULL;
}

int checksum_list_url_name(const char *url, char **ret) {
        const char *path, *end, *start;

        assert(url);
        assert(ret);

        /* Past "scheme://authority": the name must come from the path, not from a host name. */
        path = strstr(url, "://");
        path = path ? path + 3 : url;
        path += strcspn(path, "/?#");
        end = path + strcspn(path, "?#");
        while (end > path && end[-1] == '/')
                end--;
        start = end;
        while (start > path && start[-1] != '/')
                start--;
        if (start == end)
                return -EADDRNOTAVAIL;
        if (!name_is_valid(start, (size_t) (end - start)))
                return -EINVAL;
        *ret = strndup(start, (size_t) (end - start));
        return *ret ? 0 : -ENOMEM;
}
