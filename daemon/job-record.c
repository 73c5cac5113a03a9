/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "digest.h"
#include "job-record.h"
#include "util.h"

JobFile *job_file_new(const char *url, const char *path, const char *dir, const char *name, const char *temp_name) {
        const char *src[] = { url, path, dir, name, temp_name };
        const char **dst[ELEMENTSOF(src)];
        size_t len[ELEMENTSOF(src)], size = sizeof(JobFile);
        JobFile *f;
        char *p;

        for (size_t i = 0; i < ELEMENTSOF(src); i++) {
                assert(src[i]);
                len[i] = strlen(src[i]) + 1;
                if (len[i] > SIZE_MAX - size)
                        return NULL;
                size += len[i];
        }
        f = calloc(1, size);
        if (!f)
                return NULL;
        dst[0] = &f->url;
        dst[1] = &f->path;
        dst[2] = &f->dir;
        dst[3] = &f->name;
        dst[4] = &f->temp_name;
        p = f->names;
        for (size_t i = 0; i < ELEMENTSOF(src); i++) {
                *dst[i] = memcpy(p, src[i], len[i]);
                p += len[i];
        }
        return f;
}

JobFile *job_file_free(JobFile *f) {
        if (!f)
                return NULL;
        free(f->validator);
        strv_free(f->mirrors);
        free(f->checksum);
        free(f->checksum_list);
        free(f->checksum_list_signature);
        free(f->checksum_list_key);
        free(f->verified_checksum);
        hasher_free(f->hasher);
        return mfree(f);
}

Job *job_record_free(Job *j) {
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_files; i++)
                job_file_free(j->files[i]);
        free(j->files);
        strv_free(j->http_headers);
        fs_identity_done(&j->identity);
        free(j->display_name);
        free(j->description);
        free(j->error_name);
        free(j->error_message);
        free(j->error_summary);
        free(j->upload_url);
        free(j->cancel_with);
        free(j->checksum_list);
        free(j->checksum_list_signature);
        free(j->proxy);
        free(j->rate);
        return mfree(j);
}
