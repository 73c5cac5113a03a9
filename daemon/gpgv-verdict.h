/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What gpgv's --status-fd lines say about a detached signature, as one verdict. Pure: the
 * runner (gpgv.c) feeds it what gpgv wrote and how it exited.
 *
 *   good          a good signature (GOODSIG + VALIDSIG) by a key of the keyrings, with a strong
 *                 hash, none bad, and gpgv exited 0 (systemd-importd, too, requires that every
 *                 signature checks out)
 *   bad           BADSIG: the list or the signature was changed
 *   unknown-key   ERRSIG/NO_PUBKEY: made by a key that is in none of the keyrings
 *   expired       EXPSIG/EXPKEYSIG: the signature or the key expired
 *   revoked       REVKEYSIG: the key was revoked
 *   weak-digest   signed with MD5, SHA-1 or RIPEMD-160 (apt refuses those too)
 *   no-signature  NODATA: the signature file holds no OpenPGP signature
 *   no-keyring    keys.d holds no keyring (decided by the caller before running gpgv)
 *   failed        gpgv could not run, crashed, timed out, or said nothing we understand
 *
 * With several signatures the worst one decides, in the order of the list above. */

#include <stddef.h>

typedef enum GpgvVerdict {
        GPGV_GOOD,
        GPGV_BAD,
        GPGV_UNKNOWN_KEY,
        GPGV_EXPIRED,
        GPGV_REVOKED,
        GPGV_WEAK_DIGEST,
        GPGV_NO_SIGNATURE,
        GPGV_NO_KEYRING,
        GPGV_FAILED,
        _GPGV_VERDICT_MAX,
} GpgvVerdict;

/* "good", "bad", "unknown-key", … as above. */
const char *gpgv_verdict_to_string(GpgvVerdict v);

/* A fingerprint (40 or 64 hex digits) or a key id (16), NUL-terminated. */
#define GPGV_KEY_MAX 65

/* Judges gpgv's status output and exit status (-1: killed by a signal). key receives the
 * fingerprint of the good signature's key, or the key id of the signature the verdict is
 * about, or "" when none is known. */
GpgvVerdict gpgv_verdict_from_status(const char *status, size_t len, int exit_status, char key[static GPGV_KEY_MAX]);
