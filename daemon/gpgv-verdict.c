/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "gpgv-verdict.h"
#include "util.h"

static const char *const verdict_names[_GPGV_VERDICT_MAX] = {
        [GPGV_GOOD] = "good",
        [GPGV_BAD] = "bad",
        [GPGV_UNKNOWN_KEY] = "unknown-key",
        [GPGV_EXPIRED] = "expired",
        [GPGV_REVOKED] = "revoked",
        [GPGV_WEAK_DIGEST] = "weak-digest",
        [GPGV_NO_SIGNATURE] = "no-signature",
        [GPGV_NO_KEYRING] = "no-keyring",
        [GPGV_FAILED] = "failed",
};

const char *gpgv_verdict_to_string(GpgvVerdict v) {
        return string_table_get(verdict_names, _GPGV_VERDICT_MAX, v);
}

/* What gpgv said about one signature (from one NEWSIG to the next). */
typedef struct Signature {
        bool good, valid, bad, expired, revoked, weak, no_pubkey, error;
        char key[GPGV_KEY_MAX];
} Signature;

/* The n-th space-separated argument of a status line into buf ("" when absent). */
static void status_arg(const char *args, size_t len, unsigned n, char *buf, size_t size) {
        const char *p = args, *end = args + len;

        for (;;) {
                while (p < end && *p == ' ')
                        p++;
                const char *start = p;
                while (p < end && *p != ' ')
                        p++;
                if (n-- == 0) {
                        size_t k = (size_t) (p - start) < size - 1 ? (size_t) (p - start) : size - 1;
                        memcpy(buf, start, k);
                        buf[k] = 0;
                        return;
                }
                if (p >= end) {
                        buf[0] = 0;
                        return;
                }
        }
}

static bool keyword_is(const char *line, size_t len, const char *keyword, const char **ret_args, size_t *ret_len) {
        size_t n = strlen(keyword);

        if (len < n || memcmp(line, keyword, n) != 0 || (len > n && line[n] != ' '))
                return false;
        *ret_args = line + n;
        *ret_len = len - n;
        return true;
}

/* OpenPGP hash algorithm ids of MD5, SHA-1 and RIPEMD-160 (RFC 4880 §9.4). */
static bool hash_algorithm_is_weak(const char *id) {
        return streq(id, "1") || streq(id, "2") || streq(id, "3");
}

static void signature_line(Signature *s, const char *line, size_t len) {
        const char *a;
        size_t n;
        char buf[GPGV_KEY_MAX];

        if (keyword_is(line, len, "GOODSIG", &a, &n)) {
                s->good = true;
                if (!s->key[0])
                        status_arg(a, n, 0, s->key, sizeof s->key);
        } else if (keyword_is(line, len, "VALIDSIG", &a, &n)) {
                s->valid = true;
                status_arg(a, n, 0, s->key, sizeof s->key);  /* the fingerprint beats the key id */
                status_arg(a, n, 7, buf, sizeof buf);
                s->weak = hash_algorithm_is_weak(buf);
        } else if (keyword_is(line, len, "BADSIG", &a, &n)) {
                s->bad = true;
                status_arg(a, n, 0, s->key, sizeof s->key);
        } else if (keyword_is(line, len, "EXPSIG", &a, &n) || keyword_is(line, len, "EXPKEYSIG", &a, &n)) {
                s->expired = true;
                status_arg(a, n, 0, s->key, sizeof s->key);
        } else if (keyword_is(line, len, "REVKEYSIG", &a, &n)) {
                s->revoked = true;
                status_arg(a, n, 0, s->key, sizeof s->key);
        } else if (keyword_is(line, len, "ERRSIG", &a, &n)) {
                status_arg(a, n, 5, buf, sizeof buf);  /* rc 9: no public key */
                if (streq(buf, "9"))
                        s->no_pubkey = true;
                else
                        s->error = true;
                status_arg(a, n, 0, s->key, sizeof s->key);
        } else if (keyword_is(line, len, "NO_PUBKEY", &a, &n)) {
                s->no_pubkey = true;
                if (!s->key[0])
                        status_arg(a, n, 0, s->key, sizeof s->key);
        }
}

GpgvVerdict gpgv_verdict_from_status(const char *status, size_t len, int exit_status, char key[static GPGV_KEY_MAX]) {
        /* Worst first: the verdict is the first that any signature earns. */
        static const GpgvVerdict order[] = {
                GPGV_BAD, GPGV_REVOKED, GPGV_EXPIRED, GPGV_WEAK_DIGEST, GPGV_UNKNOWN_KEY, GPGV_FAILED,
        };
        Signature sigs[16];
        size_t n_sigs = 0;
        bool nodata = false;
        const char *p = status, *end = status + len;

        assert(status || len == 0);

        memset(sigs, 0, sizeof sigs);
        key[0] = 0;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *eol = nl ? nl : end;
                const char *a;
                size_t n, line_len = (size_t) (eol - p);

                if (line_len > 9 && memcmp(p, "[GNUPG:] ", 9) == 0) {
                        const char *line = p + 9;
                        line_len -= 9;
                        if (keyword_is(line, line_len, "NEWSIG", &a, &n)) {
                                if (n_sigs == ELEMENTSOF(sigs))
                                        return GPGV_FAILED;  /* no list is signed by 16 keys */
                                n_sigs++;
                        } else if (keyword_is(line, line_len, "NODATA", &a, &n))
                                nodata = true;
                        else if (n_sigs > 0)
                                signature_line(&sigs[n_sigs - 1], line, line_len);
                }
                p = nl ? nl + 1 : end;
        }

        if (n_sigs == 0)
                return nodata ? GPGV_NO_SIGNATURE : GPGV_FAILED;

        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < n_sigs; i++) {
                        const Signature *s = &sigs[i];
                        bool earns = (order[o] == GPGV_BAD && s->bad) ||
                                     (order[o] == GPGV_REVOKED && s->revoked) ||
                                     (order[o] == GPGV_EXPIRED && s->expired) ||
                                     (order[o] == GPGV_WEAK_DIGEST && s->valid && s->weak) ||
                                     (order[o] == GPGV_UNKNOWN_KEY && s->no_pubkey) ||
                                     (order[o] == GPGV_FAILED && (s->error || !s->good || !s->valid));
                        if (earns) {
                                memcpy(key, s->key, GPGV_KEY_MAX);
                                return order[o];
                        }
                }

        /* Every signature is good and valid: gpgv must agree. */
        if (exit_status != 0)
                return GPGV_FAILED;
        memcpy(key, sigs[0].key, GPGV_KEY_MAX);
        return GPGV_GOOD;
}
