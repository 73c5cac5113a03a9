/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A signed checksum list, fetched and checked: the list (SHA256SUMS) and its detached
 * signature are downloaded into memory (sealed memfds, capped in size), the signature is
 * checked with gpgv against the keyrings given, and only then is the list parsed. Nothing
 * here knows jobs. */

#include <stdint.h>
#include <sys/types.h>

#include "checksum-list.h"
#include "engine.h"
#include "http-settings.h"
#include "http-util.h"

typedef struct SignedList SignedList;

typedef struct SignedListRequest {
        const char *url;                /* the list */
        const char *signature_url;      /* its detached OpenPGP signature */
        const char *origin_url;         /* headers go only to this URL's origin */
        HttpSettings http;              /* the job's */
        char * const *keyrings;         /* at least one */
        uid_t uid;                      /* gpgv runs as this user when xferd is root; */
        gid_t gid;                      /* (uid_t) -1: as xferd */
        const char *gpgv;               /* NULL: the configured gpgv */
} SignedListRequest;

typedef struct SignedListResult {
        /* OK; TRANSIENT (the network, a 5xx: retry later); INTEGRITY (a bad or missing
         * signature, an unknown key, a list that is missing or does not parse). */
        TransferOutcome outcome;
        ErrorName error_name;
        const char *message;            /* names the URL */
        const char *summary;            /* without it */
        uint64_t retry_after_usec;
        ChecksumList *list;             /* OK: for the callee to take (TAKE_PTR) */
        const char *key;                /* OK: the fingerprint of the signing key */
} SignedListResult;

/* The result lives during the call; the callee may free s from inside it. */
typedef void (*SignedListDone)(SignedList *s, SignedListResult *result, void *userdata);

int signed_list_start(Engine *e, const SignedListRequest *req, SignedListDone done, void *userdata,
                      SignedList **ret);
/* Stops whatever runs (a transfer, gpgv); no callback after this. */
SignedList *signed_list_free(SignedList *s);
static inline void signed_list_freep(SignedList **s) {
        signed_list_free(*s);
}
