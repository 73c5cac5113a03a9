/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Temporary files that could not be removed yet, retried until they are. */
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define UNLINK_RETRY_USEC (30 * USEC_PER_SEC)

void pending_unlink_free(PendingUnlink *p) {
        fs_identity_done(&p->identity);
        free(p->dir);
        free(p->name);
        free(p);
}

int pending_unlink_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        PendingUnlink *next;

        assert(m);

        for (PendingUnlink *u = LIST_ENTRY(m->pending_unlinks.head, PendingUnlink, node); u; u = next) {
                next = LIST_ENTRY(u->node.next, PendingUnlink, node);
                FsDir d = { .path = u->dir, .dev = u->dev, .ino = u->ino };
                int r = fsops_unlink(&u->identity, &d, u->name);
                if (r < 0) {
                        log_warning_errno(r, "Still cannot remove temporary file %s/%s, will try again", u->dir, u->name);
                        continue;
                }
                log_info("Removed temporary file %s/%s that could not be removed before.", u->dir, u->name);
                (void) store_remove_pending_unlink(m->store, u->dir, u->name);
                list_remove(&m->pending_unlinks, &u->node);
                pending_unlink_free(u);
        }

        if (!list_is_empty(&m->pending_unlinks)) {
                uint64_t now;
                if (m->unlink_retry_usec < 3600 * USEC_PER_SEC)
                        m->unlink_retry_usec *= 2;
                if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) >= 0) {
                        (void) sd_event_source_set_time(s, now + m->unlink_retry_usec);
                        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                }
        }
        idle_check(m);
        return 0;
}

/* Remembers a temporary file to remove later (stored unless it came from the store). */
static int manager_add_pending_unlink(Manager *m, uid_t owner, const char *dir, dev_t dev, ino_t ino,
                                      const char *name, bool save) {
        PendingUnlink *u = calloc(1, sizeof *u);
        uint64_t now;

        if (!u || !(u->dir = strdup(dir)) || !(u->name = strdup(name)) || fs_identity_load(owner, &u->identity) < 0) {
                log_error("Out of memory: temporary file %s/%s is left behind.", dir, name);
                if (u) {
                        free(u->dir);
                        free(u->name);
                        free(u);
                }
                return -ENOMEM;
        }
        u->dev = dev;
        u->ino = ino;
        list_prepend(&m->pending_unlinks, &u->node);
        if (save)
                (void) store_add_pending_unlink(m->store, owner, dir, dev, ino, name);

        m->unlink_retry_usec = UNLINK_RETRY_USEC;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) >= 0) {
                (void) sd_event_source_set_time(m->unlink_timer, now + UNLINK_RETRY_USEC);
                (void) sd_event_source_set_enabled(m->unlink_timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void manager_remember_unlink(Manager *m, const Job *j, const JobFile *f) {
        (void) manager_add_pending_unlink(m, j->owner, f->dir, f->dir_dev, f->dir_ino, f->temp_name, true);
}

void pending_unlink_remove_temporary(Job *j, JobFile *f) {
        assert(j);
        assert(f);

        if (!f->temp_exists)
                return;

        FsDir d = job_file_dir(f);
        int r = fsops_unlink(&j->identity, &d, f->temp_name);
        if (r < 0) {
                log_warning_errno(r, "Cannot remove temporary file %s/%s of job %s now, will try again",
                                  f->dir, f->temp_name, j->id);
                manager_remember_unlink(j->manager, j, f);
        }
        f->temp_exists = false;
        f->bytes_transferred = 0;
        f->validator = mfree(f->validator);
}

int pending_unlink_adopt(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                         void *userdata) {
        Manager *m = userdata;
        FsIdentity id;
        FsDir d = { .path = dir, .dev = dev, .ino = ino };
        int r;

        assert(dir);
        assert(name);
        assert(m);

        r = fs_identity_load(owner, &id);
        if (r < 0)
                return r;
        r = fsops_unlink(&id, &d, name);
        fs_identity_done(&id);
        if (r >= 0) {
                log_info("Removed temporary file %s/%s left from before.", dir, name);
                return store_remove_pending_unlink(m->store, dir, name);
        }
        return manager_add_pending_unlink(m, owner, dir, dev, ino, name, false);
}
