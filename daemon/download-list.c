/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Files whose expected digest comes from a signed checksum list: the list is fetched and its
 * signature checked (signed-list.c) before the first of them transfers; every file of the
 * job that names the same list takes its digest from it, by the last component of its URL.
 * The digests are stored, so a restart does not fetch the list again. */
#include <stdio.h>

#include "gpgv.h"
#include "log.h"
#include "manager-internal.h"
#include "signed-list.h"
#include "url-strip.h"
#include "util.h"
#include "verify.h"

bool download_needs_list(const JobFile *f) {
        return f->checksum_list && !f->checksum;
}

/* Takes each waiting file's digest from the list; false (the job failed) when one is not
 * in it. */
static bool take_digests(Job *j, const char *list_url, const ChecksumList *list, const char *key) {
        char buf[DIGEST_STRING_MAX], msg[1024];

        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                _cleanup_free_ char *name = NULL;
                const Digest *d;

                if (!download_needs_list(f) || !streq(f->checksum_list, list_url))
                        continue;
                int r = checksum_list_url_name(f->url, &name);
                d = r >= 0 ? checksum_list_find(list, name) : NULL;
                if (!d) {
                        snprintf(msg, sizeof msg, "%s is not in the signed checksum list %s (looked up as '%s').",
                                 URL_SHOWN(f->url), URL_SHOWN(list_url), name ? name : "(no file name in the URL)");
                        job_fail(j, true, ERROR_NAME_INTEGRITY, msg, "The file is not in the signed checksum list", 0);
                        return false;
                }
                if (free_and_strdup(&f->checksum, digest_to_string(d, buf)) < 0 ||
                    free_and_strdup(&f->checksum_list_key, key) < 0) {
                        job_fail(j, false, ERROR_NAME_LOCAL_FILE, "Out of memory", "Out of memory", 0);
                        return false;
                }
                f->checksum_source = VERIFY_BY_CHECKSUM_LIST;
                checkpoint_save_file(j, i);
        }
        return true;
}

static void on_list_done(SignedList *s, SignedListResult *res, void *userdata) {
        Job *j = userdata;
        JobFile *f = j->files[j->list_file];
        _cleanup_free_ char *url = strdup(f->checksum_list);

        j->signed_list = signed_list_free(j->signed_list);
        if (!url) {
                job_fail(j, false, ERROR_NAME_LOCAL_FILE, "Out of memory", "Out of memory", 0);
                return;
        }
        if (res->outcome == TRANSFER_TRANSIENT) {
                job_fail(j, false, res->error_name, res->message, res->summary, res->retry_after_usec);
                return;
        }
        if (res->outcome != TRANSFER_OK) {
                /* No file that relies on this list may ever move into place. */
                job_fail(j, true, ERROR_NAME_INTEGRITY, res->message, res->summary, 0);
                return;
        }
        log_job_info(j->id, j->owner, NULL, "The checksum list %s is signed by key %s.", URL_SHOWN(url), res->key);
        if (take_digests(j, url, res->list, res->key))
                download_start(j);
}

void download_fetch_list(Job *j, size_t file) {
        Manager *m = j->manager;
        JobFile *f = j->files[file];
        _cleanup_strv_free_ char **keyrings = NULL;
        char msg[1024];
        int r;

        r = m->config.keys_dir ? gpgv_keyrings_in(m->config.keys_dir, &keyrings) : 0;
        if (r < 0 || strv_length(keyrings) == 0) {
                snprintf(msg, sizeof msg,
                         "No keyring to check the signature of the checksum list %s: put the signing key into %s "
                         "as a binary keyring named *.gpg (gpg --export, or gpg --dearmor for an .asc file)%s%s.",
                         URL_SHOWN(f->checksum_list), strempty(m->config.keys_dir), r < 0 ? ": " : "",
                         r < 0 ? strerror(-r) : "");
                job_fail(j, true, ERROR_NAME_INTEGRITY, msg, "No keyring to check the signed checksum list", 0);
                return;
        }

        SignedListRequest req = {
                .url = f->checksum_list,
                .signature_url = f->checksum_list_signature,
                .origin_url = f->url,
                .http = job_http_settings(j),
                .keyrings = keyrings,
                .uid = j->owner,
                .gid = j->identity.gid,
        };
        log_job_debug(j->id, j->owner, NULL, "Fetching the checksum list %s.", URL_SHOWN(f->checksum_list));
        j->list_file = file;
        r = signed_list_start(m->engine, &req, on_list_done, j, &j->signed_list);
        if (r < 0) {
                snprintf(msg, sizeof msg, "Cannot fetch the checksum list %s: %s", URL_SHOWN(f->checksum_list),
                         strerror(-r));
                job_fail(j, false, ERROR_NAME_NETWORK, msg, strerror(-r), 0);
        }
}
