/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>

#include "log.h"
#include "manager-internal.h"
#include "netwatch.h"
#include "store.h"
#include "util.h"

void manager_config_defaults(ManagerConfig *c) {
        *c = (ManagerConfig) {
                .system = false,
                .retention_usec = 300 * USEC_PER_SEC,
                .retry_delay_floor = 5,
                .max_background_transfers = 4,
                .background_bandwidth_limit = 0,
                .max_jobs_per_user = 60,
                .max_jobs = 300,
                .max_files_per_job = 200,
                .max_url_length = 2200,
                .job_inactivity_usec = 90ULL * 24 * 3600 * USEC_PER_SEC,
                .time_slice_usec = 300 * USEC_PER_SEC,
                .delete_retry_base_usec = 5 * USEC_PER_SEC,
                .transfer = {
                        .connect_timeout_usec = 30 * USEC_PER_SEC,
                        .stall_timeout_usec = 60 * USEC_PER_SEC,
                },
        };
}

const ManagerConfig *manager_get_config(Manager *m) {
        return &m->config;
}

sd_event *manager_get_event(Manager *m) {
        return m->event;
}

void manager_set_observer(Manager *m, const ManagerObserver *o) {
        m->observer = *o;
}

void *manager_get_observer_userdata(Manager *m) {
        return m->observer.userdata;
}

void notify_changed(Job *j, unsigned changes) {
        Manager *m = j->manager;

        if (m->observer.job_changed)
                m->observer.job_changed(m, j, changes);
}

uint64_t now_realtime(Manager *m) {
        uint64_t t;

        if (sd_event_now(m->event, CLOCK_REALTIME, &t) < 0)
                t = now_realtime_usec();
        return t;
}

/* Tests stop the daemon hard at named points to prove that recovery finishes the work. */
void crash_point(const char *name) {
        const char *want = getenv("XFERD_TEST_CRASH_POINT");

        if (want && streq(want, name)) {
                log_warning("Crash point '%s' reached: killing myself as asked.", name);
                raise(SIGKILL);
        }
}

int manager_create_job(Manager *m, uid_t owner, const char *display_name, const JobOptions *o,
                       Job **ret, CallError *e) {
        sd_id128_t id;
        Job *j;
        int r;

        r = check_text("display name", display_name, DISPLAY_NAME_MAX, e);
        if (r < 0)
                return r;
        r = check_text("description", strempty(o->description), DESCRIPTION_MAX, e);
        if (r < 0)
                return r;
        if (owner != 0) {
                if (manager_count_jobs(m, owner) >= m->config.max_jobs_per_user)
                        return call_error_set(e, -EUSERS, CALL_ERROR_TOO_MANY_JOBS,
                                              "You have %u jobs already, the most allowed per user; complete or cancel some first.",
                                              m->config.max_jobs_per_user);
                if (m->n_jobs >= m->config.max_jobs)
                        return call_error_set(e, -EUSERS, CALL_ERROR_TOO_MANY_JOBS,
                                              "The machine has %u jobs already, the most allowed; try again later.",
                                              m->config.max_jobs);
        }

        r = sd_id128_randomize(&id);
        if (r < 0)
                return call_error_set(e, r, CALL_ERROR_INTERNAL, "Cannot make a job id: %s", strerror(-r));

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->fd = -1;
        sd_id128_to_string(id, j->id);
        j->type = o->type;
        j->owner = owner;
        j->state = JOB_SUSPENDED;
        j->priority = o->priority;
        j->auto_complete = o->auto_complete;
        j->minimum_retry_delay = 600;
        j->no_progress_timeout = 1209600;
        j->creation_time = j->modification_time = j->last_progress_time = now_realtime(m);
        if (asprintf(&j->object_path, JOB_OBJECT_PREFIX "%s", j->id) < 0)
                j->object_path = NULL;
        j->display_name = strdup(display_name);
        j->description = strdup(strempty(o->description));
        if (!j->object_path || !j->display_name || !j->description) {
                job_free(j);
                return -ENOMEM;
        }
        r = fs_identity_load(owner, &j->identity);
        if (r < 0) {
                job_free(j);
                return call_error_set(e, r, CALL_ERROR_INTERNAL, "Cannot look up uid %u: %s", (unsigned) owner, strerror(-r));
        }
        /* A job a client was told about survives a crash. */
        if (m->store) {
                r = store_save_job(m->store, j);
                if (r < 0) {
                        job_free(j);
                        return call_error_set(e, r, CALL_ERROR_INTERNAL,
                                              "Cannot store the new job: %s", strerror(-r));
                }
        }
        r = manager_index_add(m, j);
        if (r < 0) {
                if (m->store)
                        (void) store_delete_job(m->store, j->id);
                job_free(j);
                return r;
        }
        manager_arm_inactivity(m, j->modification_time);

        list_append(&m->jobs_head, &m->jobs_tail, j);
        m->n_jobs++;
        job_count_start(j);
        log_job_debug(j->id, owner, NULL, "Created for uid %u.", (unsigned) owner);

        if (m->observer.job_new)
                m->observer.job_new(m, j);
        manager_check_idle(m);

        *ret = j;
        return 0;
}

bool manager_has_store(Manager *m) {
        return m->store;
}

/* The disk is the truth for how far a file got. */
/* Complete records a file as committed before it renames it (manager_complete_batch): one
 * still recorded with its temporary file was being moved into place when the daemon
 * stopped. Its data was synced before that record; the move finishes now. */
static void job_finish_renames(Job *j) {
        bool changed = false;

        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                FsDir d = file_dir(f);

                if (!f->committed || !f->temp_exists)
                        continue;
                changed = true;
                struct stat st;
                int r = fsops_stat_regular(&j->identity, &d, NULL, f->temp_name, &st);
                if (r >= 0)
                        r = fsops_rename(&j->identity, &d, NULL, f->temp_name, f->name);
                else if (r == -ENOENT && fsops_stat_regular(&j->identity, &d, NULL, f->name, &st) >= 0) {
                        f->temp_exists = false;  /* moved before the daemon stopped */
                        continue;
                }
                if (r >= 0) {
                        log_job_info(j->id, j->owner, NULL, "Finished moving %s into place.", f->path);
                        r = fsops_sync_directory(&j->identity, &d, NULL);
                        if (r < 0)
                                log_warning_errno(r, "Cannot sync directory %s", d.path);
                        f->temp_exists = false;
                        continue;
                }
                /* Neither name is there, or the directory is gone or replaced: not done. The
                 * file is checked again below (job_recover_files) like any other. */
                log_job_warning(j->id, j->owner, NULL, "Cannot finish moving %s into place: %s.", f->path,
                                strerror(-r));
                f->committed = false;
        }
        if (changed)
                job_save(j);
}

static void job_recover_files(Job *j) {
        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                FsDir d = file_dir(f);
                struct stat st;

                if (!f->temp_exists || f->committed)
                        continue;
                int r = fsops_stat_regular(&j->identity, &d, NULL, f->temp_name, &st);
                if (r >= 0) {
                        f->bytes_transferred = (uint64_t) st.st_size;
                        if (f->completed && f->bytes_total != UINT64_MAX && f->bytes_total != f->bytes_transferred)
                                f->completed = false;
                        continue;
                }
                if (r != -ENOENT && r != -ESTALE)
                        log_warning_errno(r, "Cannot check temporary file %s/%s of job %s", f->dir, f->temp_name, j->id);
                /* Gone (or its directory replaced): the file starts over. */
                f->temp_exists = false;
                f->completed = false;
                f->bytes_transferred = 0;
                f->validator = mfree(f->validator);
        }
        j->current = 0;
        while (j->current < j->n_files && j->files[j->current]->completed)
                j->current++;
}

static int manager_adopt_job(Job *j, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_realtime(m);
        int r;

        j->manager = m;
        j->fd = -1;
        if (asprintf(&j->object_path, JOB_OBJECT_PREFIX "%s", j->id) < 0) {
                j->object_path = NULL;
                job_free(j);
                return -ENOMEM;
        }
        r = fs_identity_load(j->owner, &j->identity);
        if (r < 0) {
                log_error_errno(r, "Cannot look up uid %u of job %s; leaving it in the store", (unsigned) j->owner, j->id);
                job_free(j);
                return 0;
        }

        if (j->state != JOB_CANCELLED)
                job_finish_renames(j);
        if (job_state_is_final(j->state)) {
                /* A cancel or complete that was interrupted finishes now. */
                bool dirty = false;
                for (size_t i = 0; i < j->n_files; i++)
                        if (j->files[i]->temp_exists && !j->files[i]->committed) {
                                log_job_info(j->id, j->owner, NULL, "%s: removing its leftover temporary file %s/%s.",
                                             job_state_to_string(j->state), j->files[i]->dir, j->files[i]->temp_name);
                                job_unlink_temporary(j, j->files[i]);
                                dirty = true;
                        }
                if (dirty)
                        job_save(j);
                /* A cancelled upload whose server copy is not known to be deleted. */
                if (j->state == JOB_CANCELLED && j->type == JOB_UPLOAD && j->upload_url)
                        manager_delete_upload(m, j);
                if (j->retire_time + m->config.retention_usec <= now) {
                        if (m->store)
                                (void) store_delete_job(m->store, j->id);
                        job_free(j);
                        return 0;
                }
                r = manager_index_add(m, j);
                if (r < 0) {
                        job_free(j);
                        return r;
                }
                list_append(&m->retained_head, &m->retained_tail, j);
                r = sd_event_add_time(m->event, &j->retention_timer, CLOCK_REALTIME,
                                      j->retire_time + m->config.retention_usec, USEC_PER_SEC,
                                      on_retention_timer, j);
                if (r < 0)
                        log_error_errno(r, "Cannot arm the retention timer of job %s", j->id);
                return 0;
        }

        job_recover_files(j);

        JobContext ctx = job_context(j);
        JobTransition t;
        if (job_transition(j->state, JOB_EVENT_RECOVER, &ctx, &t) >= 0) {
                if (t.state != j->state)
                        log_job_info(j->id, j->owner, NULL, "Was %s when the daemon stopped: queued again.",
                                     job_state_to_string(j->state));
                j->state = t.state;
                if (t.actions & JOB_ACTION_ARM_RETRY) {
                        /* The stored wall-clock deadlines hold: NoProgressTimeout counts the time
                         * the daemon was down too; a passed retry deadline means now. */
                        if (now >= j->last_progress_time + (uint64_t) j->no_progress_timeout * USEC_PER_SEC) {
                                job_set_error(j, "NoProgress", "No progress within NoProgressTimeout",
                                              "No progress within NoProgressTimeout");
                                j->state = JOB_ERROR;
                        } else if (j->retry_time <= now)
                                j->state = JOB_QUEUED;
                        else
                                job_arm_retry_timer(j);
                }
        }

        if (j->state == JOB_TRANSFERRED && j->current < j->n_files) {
                /* A finished file vanished while the daemon was down: fetch it again. */
                log_job_info(j->id, j->owner, NULL, "A transferred file is gone from disk: suspended, Resume fetches it again.");
                j->state = JOB_SUSPENDED;
        }

        r = manager_index_add(m, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        list_append(&m->jobs_head, &m->jobs_tail, j);
        m->n_jobs++;
        job_count_start(j);
        job_save(j);
        manager_arm_inactivity(m, j->modification_time);
        /* An automatic completion the daemon did not get to before it stopped. */
        if (j->state == JOB_TRANSFERRED && j->auto_complete)
                job_auto_complete(j);
        return 0;
}

int manager_load(Manager *m) {
        int r;

        if (!m->store)
                return 0;

        (void) store_begin(m->store);
        r = store_load_pending_unlinks(m->store, manager_adopt_pending_unlink, m);
        if (r < 0)
                log_warning_errno(r, "Cannot load the list of temporary files to remove");
        /* DELETEs first: they keep their stored deadlines, and jobs do not add them twice. */
        r = store_load_pending_deletes(m->store, manager_adopt_pending_delete, m);
        if (r < 0)
                log_warning_errno(r, "Cannot load the list of uploads to delete on their servers");
        r = store_load_jobs(m->store, manager_adopt_job, m);
        if (r < 0)
                log_error_errno(r, "Cannot load the stored jobs");
        (void) store_end(m->store);

        log_info("Recovered %u waiting job(s) from the store.", m->n_jobs);
        manager_schedule(m);
        m->idle = !manager_is_idle(m);  /* force a report of the real state */
        manager_check_idle(m);
        return 0;
}

int manager_new(sd_event *event, const ManagerConfig *config, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->config = *config;
        m->check_counts = getenv("XFERD_TEST_CHECK_COUNTS") != NULL;
        m->idle = true;

        r = engine_new(event, &config->transfer, &m->engine);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(event, &m->schedule_source, on_schedule, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->schedule_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->schedule_source, "scheduler");
        r = sd_event_add_time(event, &m->network_timer, CLOCK_MONOTONIC, 0, 100 * USEC_PER_MSEC,
                              on_network_settled, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->network_timer, SD_EVENT_OFF);
        r = sd_event_add_time(event, &m->auto_complete_source, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                              on_auto_complete, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->auto_complete_source, SD_EVENT_OFF);
        r = sd_event_add_time(event, &m->slice_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_slice_timer, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_OFF);
        r = sd_event_add_time(event, &m->progress_timer, CLOCK_MONOTONIC, 0, 50 * USEC_PER_MSEC,
                              on_progress_timer, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_OFF);
        r = sd_event_add_time(event, &m->unlink_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_unlink_timer, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->unlink_timer, SD_EVENT_OFF);
        /* Coalescing saves wake-ups; an hour is nothing against 90 days, but the accuracy
         * follows shorter timeouts. */
        uint64_t accuracy = config->job_inactivity_usec / 100;
        if (accuracy > 3600 * USEC_PER_SEC)
                accuracy = 3600 * USEC_PER_SEC;
        r = sd_event_add_time(event, &m->inactivity_timer, CLOCK_REALTIME, 0, accuracy ? accuracy : 1,
                              on_inactivity_timer, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->inactivity_timer, SD_EVENT_OFF);

        if (config->state_dir) {
                r = store_open(config->state_dir, &m->store);
                if (r < 0)
                        log_error_errno(r, "Cannot use the job store in %s; jobs will not survive a restart",
                                        config->state_dir);
        }

        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

Manager *manager_free(Manager *m) {
        Job *j;

        if (!m)
                return NULL;
        while ((j = m->jobs_head)) {
                list_remove(&m->jobs_head, &m->jobs_tail, j);
                job_free(j);
        }
        while ((j = m->retained_head)) {
                list_remove(&m->retained_head, &m->retained_tail, j);
                job_free(j);
        }
        while (m->pending_unlinks) {
                PendingUnlink *u = m->pending_unlinks;
                m->pending_unlinks = u->next;
                log_warning("Temporary file %s/%s could not be removed.", u->dir, u->name);
                pending_unlink_free(u);
        }
        while (m->pending_deletes) {
                DeleteEntry *d = m->pending_deletes;
                m->pending_deletes = d->next;
                delete_entry_free(d);  /* stays in the store for the next start */
        }
        free(m->index);
        sd_event_source_disable_unref(m->schedule_source);
        sd_event_source_disable_unref(m->auto_complete_source);
        sd_event_source_disable_unref(m->network_timer);
        sd_event_source_disable_unref(m->slice_timer);
        sd_event_source_disable_unref(m->progress_timer);
        sd_event_source_disable_unref(m->unlink_timer);
        sd_event_source_disable_unref(m->inactivity_timer);
        netwatch_free(m->netwatch);
        store_close(m->store);
        engine_free(m->engine);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
