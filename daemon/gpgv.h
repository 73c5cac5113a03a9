/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checking a detached OpenPGP signature (of a checksum list) with gpgv, the verifier apt uses,
 * against the keyrings of a keys.d directory. gpgv runs as a child process watched by the event
 * loop (a child source and its --status-fd pipe), never waited for; its status lines decide
 * (gpgv-verdict.h). sd_event_add_child() needs SIGCHLD blocked in every thread of the
 * process. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "gpgv-verdict.h"

/* The keys.d directory: <sysconfdir>/xferd/keys.d for the system service; for --user
 * $XDG_CONFIG_HOME/xferd/keys.d, or ~/.config/xferd/keys.d without it. */
int gpgv_keys_dir(bool user, char **ret);
/* The keyrings of dir, sorted: the regular files named *.gpg (binary OpenPGP keyrings, as
 * `gpg --export` or `gpg --dearmor` write them; gpgv cannot read armored ones), neither hidden
 * nor writable by group or others (skipped with a warning). A missing dir gives an empty list. */
int gpgv_keyrings_in(const char *dir, char ***ret);

typedef struct Gpgv Gpgv;

typedef struct GpgvRequest {
        const char *gpgv;              /* the program; NULL: gpgv of the build's configuration */
        char * const *keyrings;        /* at least one */
        const void *data;              /* the signed bytes */
        size_t data_size;
        const void *signature;         /* the detached signature, binary or armored */
        size_t signature_size;
        uid_t uid;                     /* run gpgv as this user (and gid) when xferd runs as */
        gid_t gid;                     /* root; (uid_t) -1: as xferd */
        uint64_t timeout_usec;         /* 0: 60 s */
} GpgvRequest;

typedef struct GpgvResult {
        GpgvVerdict verdict;
        const char *key;               /* see gpgv_verdict_from_status(); "" when unknown */
        const char *message;           /* a sentence a person can act on */
} GpgvResult;

/* The result is valid during the callback; the callee may free g from inside it. done is never
 * called from inside gpgv_start(). */
typedef void (*GpgvDone)(Gpgv *g, const GpgvResult *result, void *userdata);

int gpgv_start(sd_event *e, const GpgvRequest *req, GpgvDone done, void *userdata, Gpgv **ret);
/* Kills a gpgv that still runs and reaps it; no callback after this. */
Gpgv *gpgv_free(Gpgv *g);
static inline void gpgv_freep(Gpgv **g) {
        gpgv_free(*g);
}
