/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "digest.h"
#include "job-record.h"
#include "util.h"

JobFile *job_file_free(JobFile *f) {
        if (!f)
                return NULL;
        free(f->url);
        free(f->path);
        free(f->dir);
        free(f->name);
        free(f->temp_name);
        free(f->validator);
        strv_free(f->mirrors);
        free(f->checksum);
        free(f->checksum_list);
        free(f->checksum_list_signature);
        free(f->checksum_list_key);
        free(f->verified_checksum);
        hasher_free(f->hasher);
        free(f);
        return NULL;
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
        free(j);
        return NULL;
}
