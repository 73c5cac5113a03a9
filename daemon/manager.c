/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <systemd/sd-id128.h>

#include "cpu-gate.h"
#include "log.h"
#include "manager-internal.h"
#include "netwatch.h"
#include "store.h"
#include "util.h"

const ManagerConfig *manager_get_config(Manager *m) {
        assert(m);

        return &m->config;
}

uint64_t manager_get_bytes_from_cache(Manager *m) {
        assert(m);
        return m->bytes_from_cache;
}

uint64_t manager_get_bytes_from_origin(Manager *m) {
        assert(m);
        return m->bytes_from_origin;
}

void manager_set_observer(Manager *m, const ManagerObserver *o) {
        assert(m);
        assert(o);

        m->observer = *o;
}

void *manager_get_observer_userdata(Manager *m) {
        assert(m);

        return m->observer.userdata;
}

void manager_notify_changed(Job *j, unsigned changes) {
        assert(j);

        /* What the signal carries counts as told: a state change carries the counters and
         * the reason too. */
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS))
                job_progress_told(j);
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_WAIT))
                job_wait_reason_told(j);
        job_changes_gather(j, changes);
}

void manager_batch_begin(Manager *m) {
        assert(m);
        assert(!m->batch);

        m->batch = true;
        if (m->store) {
                if (!m->batch_open)
                        (void) store_begin(m->store);
                store_hold(m->store, true);
        }
}

/* A job of a batch whose commit failed: the store never had it, nobody heard of it; nor does
 * its caller's binding keep it. */
static void manager_discard_new(Job *j) {
        Manager *m = j->manager;

        idle_count_stop(j);
        owner_gone_unbind(j);
        job_index_leave_queue(m, j);
        job_index_remove(m, j);
        job_free(j);
}

int manager_batch_close(Manager *m, CallError *e) {
        int r = 0;

        assert(m);
        assert(!m->batch);

        if (!m->batch_open)
                return 0;
        m->batch_open = false;
        m->batch_calls = 0;
        fs_dir_check_done(&m->dir_check);
        (void) sd_event_source_set_enabled(m->batch_source, SD_EVENT_OFF);
        if (m->store) {
                store_set_batch_open(m->store, false);
                r = store_end(m->store);
        }
        if (r < 0) {
                Job *next;
                for (Job *j = LIST_ENTRY(m->changed.head, Job, changed_node); j; j = next) {
                        next = LIST_ENTRY(j->changed_node.next, Job, changed_node);
                        if (j->changes_untold & JOB_UNTOLD_NEW)
                                manager_discard_new(j);
                }
                r = call_error_set(e, r, CALL_ERROR_IO,
                                   "Cannot save the new job in the job store in the state directory %s: %s.",
                                   m->config.state_dir, strerror(-r));
        }
        /* Stored: told, then answered. */
        if (m->observer.batch_closing)
                m->observer.batch_closing(m);
        manager_changes_flush(m);
        idle_check(m);
        if (m->observer.batch_closed)
                m->observer.batch_closed(m, r, e);
        if (m->batch_schedule) {
                m->batch_schedule = false;
                scheduler_wake(m);
        }
        /* The new jobs stay: what the heap grew by for them, in huge pages from here on. */
        heap_growth_follow(&m->heap_growth);
        return r;
}

void manager_batch_release(Manager *m) {
        CallError e = { .kind = CALL_ERROR_NONE };

        assert(m);

        if (m->batch_open && !m->batch)
                (void) manager_batch_close(m, &e);
}

static void manager_batch_release_store(void *userdata) {
        manager_batch_release(userdata);
}

static int on_batch_close(sd_event_source *s, void *userdata) {
        manager_batch_release(userdata);
        return 0;
}

bool manager_batch_stores(const Job *j) {
        assert(j);

        return j->manager->batch && j->manager->batch_job == j;
}

int manager_batch_end(Manager *m, CallError *e) {
        assert(m);
        assert(m->batch);

        /* The job the call made, as its steps left it, in the batch's transaction: a failed
         * write dooms it, and the batch's calls fail as when its commit fails. */
        if (m->batch_job && m->store)
                (void) store_insert_job(m->store, TAKE_PTR(m->batch_job));
        m->batch_job = NULL;
        m->batch = false;
        m->batch_open = true;
        if (m->store) {
                store_hold(m->store, false);
                store_set_batch_open(m->store, true);
        }
        /* One scheduler pass for the batch, after it: a pass per call would look at every
         * queued job again for each new one. */
        if (sd_event_source_get_enabled(m->schedule_source, NULL) > 0) {
                (void) sd_event_source_set_enabled(m->schedule_source, SD_EVENT_OFF);
                m->batch_schedule = true;
        }
        if (++m->batch_calls >= BATCH_MAX_CALLS)
                return manager_batch_close(m, e);
        /* Calls that arrived together are handled before this runs. */
        (void) sd_event_source_set_enabled(m->batch_source, SD_EVENT_ONESHOT);
        return 1;
}

void manager_call_finish(JobCall *c, int r, const CallError *e, bool partial) {
        assert(c);

        c->r = r;
        c->e = e ? *e : (CallError) { .kind = CALL_ERROR_NONE };
        c->partial = partial;
        c->done(c);
}

/* Calls waiting on a job that goes away with the daemon. */
void manager_calls_shutdown(JobCall **list) {
        JobCall *c;

        assert(list);

        while ((c = *list)) {
                CallError e = { .kind = CALL_ERROR_INTERNAL };
                *list = c->next;
                snprintf(e.message, sizeof e.message, "xferd is stopping; the call finishes at its next start.");
                manager_call_finish(c, -ESHUTDOWN, &e, false);
        }
}

uint64_t manager_now_realtime(Manager *m) {
        assert(m);
        return event_now(m->event, CLOCK_REALTIME);
}

/* Tests stop the daemon hard at named points to prove that recovery finishes the work. */
void manager_crash_point(const char *name) {
        const char *want = getenv("XFERD_TEST_CRASH_POINT");

        assert(name);

        if (want && streq(want, name)) {
                log_warning("Crash point '%s' reached: killing myself as asked.", name);
                raise(SIGKILL);
        }
}

/* A random (v4 UUID) job id, as sd_id128_randomize() makes it, from random bytes read 64 ids
 * at a time: one getrandom() per job was a tenth of the system calls of a Download. Only the
 * loop thread makes ids. */
static int job_id_random(sd_id128_t *ret) {
        static sd_id128_t pool[64];
        static size_t left = 0;

        if (left == 0) {
                if (getrandom(pool, sizeof pool, GRND_INSECURE) != (ssize_t) sizeof pool)
                        return sd_id128_randomize(ret);   /* a kernel without GRND_INSECURE */
                left = ELEMENTSOF(pool);
        }
        sd_id128_t id = pool[--left];
        pool[left] = SD_ID128_NULL;
        id.bytes[6] = (id.bytes[6] & 0x0F) | 0x40;
        id.bytes[8] = (id.bytes[8] & 0x3F) | 0x80;
        *ret = id;
        return 0;
}

int manager_create_job(Manager *m, uid_t owner, const char *display_name, const JobOptions *o,
                       Job **ret, CallError *e) {
        _cleanup_free_ char *list = NULL, *signature = NULL;
        sd_id128_t id;
        Job *j;
        int r;

        assert(m);
        assert(display_name);
        assert(o);
        assert(ret);

        if (o->cost_policy_set && (o->cost_policy < 0 || o->cost_policy >= _COST_POLICY_MAX))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "Unknown cost policy; use always or unmetered.");
        if (o->max_concurrent_files_set &&
            (o->max_concurrent_files < 1 || o->max_concurrent_files > JOB_MAX_CONCURRENT_FILES))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "max-concurrent-files must be between 1 and %d.", JOB_MAX_CONCURRENT_FILES);
        r = job_check_text("display name", display_name, JOB_DISPLAY_NAME_MAX, e);
        if (r < 0)
                return r;
        r = job_check_text("description", strempty(o->description), JOB_DESCRIPTION_MAX, e);
        if (r < 0)
                return r;
        if (o->type == JOB_UPLOAD && (o->checksum_list || o->checksum_list_signature))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS, "Checksum lists apply to downloads only.");
        r = file_options_check_list(m, o->checksum_list, o->checksum_list_signature, &list, &signature, e);
        if (r < 0)
                return r;
        if (owner != 0) {
                if (manager_count_jobs(m, owner) >= m->config.max_jobs_per_user)
                        return call_error_set(e, -EUSERS, CALL_ERROR_TOO_MANY_JOBS,
                                              "You have %u jobs already, the most allowed per user; complete or cancel some first.",
                                              m->config.max_jobs_per_user);
                if (m->jobs.n >= m->config.max_jobs)
                        return call_error_set(e, -EUSERS, CALL_ERROR_TOO_MANY_JOBS,
                                              "The machine has %u jobs already, the most allowed; try again later.",
                                              m->config.max_jobs);
        }

        r = job_id_random(&id);
        if (r < 0)
                return call_error_set(e, r, CALL_ERROR_INTERNAL, "Cannot make a job id: %s", strerror(-r));

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->fd = -1;
        sd_id128_to_string(id, j->id);
        if (m->store)
                j->store_key = store_new_key(m->store);
        j->type = o->type;
        j->owner = owner;
        j->state = JOB_SUSPENDED;
        j->priority = o->priority;
        j->auto_complete = o->auto_complete;
        j->cost_policy = o->cost_policy_set ? o->cost_policy
                                            : cost_policy_default(o->priority, m->config.default_cost_policy);
        j->minimum_retry_delay = 600;
        j->no_progress_timeout = 1209600;
        j->minimum_notification_interval = 500;
        j->max_concurrent_files = o->max_concurrent_files_set ? o->max_concurrent_files : 1;
        j->creation_time = j->modification_time = j->last_progress_time = manager_now_realtime(m);
        progress_meter_reset(&j->progress, j->last_progress_time, 0);
        j->display_name = strdup(display_name);
        j->description = strdup(strempty(o->description));
        j->checksum_list = TAKE_PTR(list);
        j->checksum_list_signature = TAKE_PTR(signature);
        j->cancel_with = o->cancel_with ? strdup(o->cancel_with) : NULL;
        if (!j->display_name || !j->description || (o->cancel_with && !j->cancel_with)) {
                job_free(j);
                return -ENOMEM;
        }
        if (o->n_groups >= 0) {
                r = fs_identity_from_groups(owner, o->groups, (size_t) o->n_groups, &j->identity);
                j->identity_from_caller = r >= 0;
        } else
                r = fs_identity_load(owner, &j->identity);
        if (r < 0) {
                job_free(j);
                return call_error_set(e, r, CALL_ERROR_INTERNAL, "Cannot look up uid %u: %s", (unsigned) owner, strerror(-r));
        }
        /* A job a client was told about survives a crash. A batch's call writes it once, when
         * its steps are done. */
        r = m->batch ? 0 : store_insert_job(m->store, j);
        if (r < 0) {
                r = call_error_set(e, r, CALL_ERROR_IO,
                                   "Cannot save the new job in the job store in the state directory %s: %s.",
                                   m->config.state_dir, strerror(-r));
                job_free(j);
                return r;
        }
        r = job_index_enter(m, j);
        if (r < 0) {
                (void) store_delete_job(m->store, j);
                job_free(j);
                return r;
        }
        inactivity_arm(m, j->modification_time);

        idle_count_start(j);
        log_job_debug(j->id, owner, NULL, "Created for uid %u.", (unsigned) owner);

        /* In a batch, stored at the end of the call and told once the batch is committed. */
        if (m->batch) {
                m->batch_job = j;
                job_changes_gather(j, JOB_UNTOLD_NEW);
        }
        else
                job_announce_new(j);
        idle_check(m);

        *ret = j;
        return 0;
}

static void manager_freep(Manager **m) {
        manager_free(*m);
}

/* The manager's own event sources are off until it arms them. */
static int add_defer_off(Manager *m, sd_event_source **ret, sd_event_handler_t handler, int64_t priority,
                         const char *description) {
        int r = sd_event_add_defer(m->event, ret, handler, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
        (void) sd_event_source_set_priority(*ret, priority);
        (void) sd_event_source_set_description(*ret, description);
        return 0;
}

static int add_timer_off(Manager *m, sd_event_source **ret, clockid_t clock, uint64_t accuracy,
                         sd_event_time_handler_t handler) {
        int r = sd_event_add_time(m->event, ret, clock, 0, accuracy, handler, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
        return 0;
}

static void on_io_drained(void *userdata) {
        idle_check(userdata);
}

int manager_new(sd_event *event, const ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(event);
        assert(config);
        assert(config->state_dir);
        assert(ret);

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->config = *config;
        m->check_counts = getenv("XFERD_TEST_CHECK_COUNTS") != NULL;
        m->log_pass_starts = getenv("XFERD_TEST_PASS_STARTS") != NULL;
        m->idle = true;
        m->wait_walk_all = true;
        m->dir_check = (FsDirCheck) FS_DIR_CHECK_INIT;
        m->temp_dir = (FsDirCache) FS_DIR_CACHE_INIT;
        r = scheduler_queue_new(config->max_foreground_transfers_per_user, &m->schedule_queue);
        if (r < 0)
                return r;
        m->index = hashmap_new();
        m->owners = hashmap_new();
        m->bindings = hashmap_new();
        if (!m->index || !m->owners || !m->bindings)
                return -ENOMEM;

        r = engine_new(event, &config->transfer, &m->engine);
        if (r >= 0)
                r = network_wait_new(m);
        /* Threads start at the first file operation, after main.c has set up the process. */
        if (r >= 0)
                r = io_pool_new(event, IO_POOL_MAX_THREADS, &m->io_pool);
        if (r >= 0)
                r = io_pool_new(event, HASH_POOL_THREADS, &m->hash_pool);
        if (r >= 0)
                r = io_pool_new(event, HASH_POOL_THREADS, &m->hash_background_pool);
        if (r >= 0)
                r = io_pool_new(event, WRITEBACK_POOL_THREADS, &m->writeback_pool);
        if (r >= 0)
                r = io_pool_new(event, SYNC_AHEAD_POOL_THREADS, &m->sync_ahead_pool);
        if (r >= 0)
                r = io_pool_new(event, WRITE_POOL_THREADS, &m->write_pool);
        if (r < 0)
                return r;
        /* Cancel and Complete reply once their unlink or rename is back. */
        io_pool_set_priority(m->io_pool, MANAGER_CALL_PRIORITY);
        /* Cancel's unlinks find a thread idle beside a checkpoint or a sync. */
        io_pool_set_spare(m->io_pool);
        /* A file operation under way keeps the daemon from exiting (manager_is_idle()): the
         * last one's end, whoever's it was, lets it go. */
        io_pool_set_drained(m->io_pool, on_io_drained, m);
        /* Hashing yields the CPU to the loop, the bus and the servers a call's reply goes
         * through: on two cores it would otherwise hold one while the loop waits its turn. */
        io_pool_set_nice(m->hash_pool, HASH_POOL_NICE);
        /* While a transfer runs nobody waits for its hash: it takes only the CPU time the
         * transfer leaves (it reads back what it could not take from the buffers). A backlog
         * too large (hash-stream.c's bound), and what is left when the transfer ends, go to
         * hash_pool. */
        io_pool_set_background(m->hash_background_pool);
        /* The writers yield to the loop too: at its level their pwrite()s lengthened the
         * replies to calls made during a large download (Cancel's p50 and p99). */
        io_pool_set_nice(m->write_pool, HASH_POOL_NICE);
        /* Syncs ahead: work nobody waits for, mostly asleep in the disk's queue. */
        io_pool_set_nice(m->sync_ahead_pool, HASH_POOL_NICE);
        /* A download's bulk work steps aside while a reply waits for a file operation. */
        io_pool_set_gated(m->hash_pool);
        io_pool_set_gated(m->hash_background_pool);
        io_pool_set_gated(m->write_pool);
        io_pool_set_gated(m->writeback_pool);

        r = add_defer_off(m, &m->schedule_source, scheduler_on_schedule, SD_EVENT_PRIORITY_NORMAL, "scheduler");
        /* Progress is told once the loop has nothing more urgent: one signal per burst. */
        if (r >= 0)
                r = add_defer_off(m, &m->notify_source, on_notify_defer, SD_EVENT_PRIORITY_IDLE, "notify");
        if (r >= 0)
                r = add_defer_off(m, &m->temp_dir_idle, download_on_dir_idle, SD_EVENT_PRIORITY_IDLE, "temp-dir");
        /* A batch of calls waits for the loop to have nothing more urgent. */
        if (r >= 0)
                r = add_defer_off(m, &m->batch_source, on_batch_close, SD_EVENT_PRIORITY_IDLE, "batch");
        /* Downloads that ended wait for the transfers whose news is already there. */
        if (r >= 0)
                r = add_defer_off(m, &m->downloads_done_source, download_on_done, SD_EVENT_PRIORITY_NORMAL + 1,
                                  "downloads-done");
        /* Every other change: one PropertiesChanged per job and loop iteration, sent before
         * the next call is read, so that a call's signals come before those of the next. */
        if (r >= 0)
                r = add_defer_off(m, &m->changed_source, on_changes_defer, MANAGER_CALL_PRIORITY - 1,
                                  "property-changes");
        if (r >= 0)
                r = add_timer_off(m, &m->notify_timer, CLOCK_MONOTONIC, 10 * USEC_PER_MSEC, on_notify_timer);
        if (r >= 0)
                r = add_timer_off(m, &m->network_timer, CLOCK_MONOTONIC, 100 * USEC_PER_MSEC,
                                  network_retry_on_settled);
        if (r >= 0)
                r = add_timer_off(m, &m->auto_complete_source, CLOCK_MONOTONIC, USEC_PER_MSEC,
                                  complete_on_auto_complete);
        if (r >= 0)
                r = add_timer_off(m, &m->slice_timer, CLOCK_MONOTONIC, USEC_PER_SEC, scheduler_on_slice_timer);
        if (r >= 0)
                r = add_timer_off(m, &m->progress_timer, CLOCK_MONOTONIC, 50 * USEC_PER_MSEC, checkpoint_on_timer);
        if (r >= 0)
                r = add_timer_off(m, &m->unlink_timer, CLOCK_MONOTONIC, USEC_PER_SEC, pending_unlink_on_timer);
        if (r < 0)
                return r;
        /* Coalescing saves wake-ups; an hour is nothing against 90 days, but the accuracy
         * follows shorter timeouts. */
        uint64_t accuracy = config->job_inactivity_usec / 100;
        if (accuracy > 3600 * USEC_PER_SEC)
                accuracy = 3600 * USEC_PER_SEC;
        r = add_timer_off(m, &m->inactivity_timer, CLOCK_REALTIME, accuracy ? accuracy : 1, inactivity_on_timer);
        if (r < 0)
                return r;

        /* Without a store no reply could be kept: no memory-only mode, the daemon stops and the
         * service manager (or the next activation) tries again. */
        r = store_open(config->state_dir, &m->store);
        if (r < 0)
                return log_error_errno(r, "Cannot open the job store in %s", config->state_dir);
        store_set_checkpoint_callback(m->store, wal_checkpoint_want, m);
        store_set_batch_release(m->store, manager_batch_release_store, m);

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        Job *j;

        if (!m)
                return NULL;
        /* A batch not closed yet is stored, and its calls answered, before the bus goes. */
        (void) manager_batch_close(m, NULL);
        fs_dir_check_done(&m->dir_check);
        fs_dir_cache_done(&m->temp_dir);
        fs_identity_done(&m->temp_dir_identity);
        m->temp_dir_job = NULL;
        /* The file operations under way end first (their replies fail); jobs are freed after. */
        m->io_pool = io_pool_free(m->io_pool);
        /* Every job's unlinks came back or were dropped, each opening the gate it closed. */
        assert(cpu_gate_closed() == 0);
        checkpoint_flush_files(m);
        while ((j = job_first(&m->jobs))) {
                job_index_leave_queue(m, j);
                job_free(j);
        }
        while ((j = job_first(&m->retained))) {
                list_remove(&m->retained, &j->queue_node);
                job_free(j);
        }
        /* After the jobs: their streams are stopped, so no thread hashes on. */
        m->hash_pool = io_pool_free(m->hash_pool);
        m->hash_background_pool = io_pool_free(m->hash_background_pool);
        m->writeback_pool = io_pool_free(m->writeback_pool);
        m->sync_ahead_pool = io_pool_free(m->sync_ahead_pool);
        m->write_pool = io_pool_free(m->write_pool);
        for (PendingUnlink *u; (u = LIST_ENTRY(m->pending_unlinks.head, PendingUnlink, node));) {
                list_remove(&m->pending_unlinks, &u->node);
                log_warning("Temporary file %s/%s could not be removed.", u->dir, u->name);
                pending_unlink_free(u);
        }
        for (DeleteEntry *d; (d = LIST_ENTRY(m->pending_deletes.head, DeleteEntry, node));) {
                list_remove(&m->pending_deletes, &d->node);
                delete_queue_entry_free(d);  /* stays in the store for the next start */
        }
        hashmap_free(m->index);
        job_index_done(m);
        owner_gone_done(m);
        scheduler_done(m);
        sd_event_source_disable_unref(m->schedule_source);
        sd_event_source_disable_unref(m->auto_complete_source);
        sd_event_source_disable_unref(m->network_timer);
        sd_event_source_disable_unref(m->slice_timer);
        sd_event_source_disable_unref(m->progress_timer);
        sd_event_source_disable_unref(m->notify_source);
        sd_event_source_disable_unref(m->temp_dir_idle);
        sd_event_source_disable_unref(m->notify_timer);
        sd_event_source_disable_unref(m->changed_source);
        sd_event_source_disable_unref(m->batch_source);
        sd_event_source_disable_unref(m->downloads_done_source);
        sd_event_source_disable_unref(m->unlink_timer);
        sd_event_source_disable_unref(m->inactivity_timer);
        netwatch_free(m->netwatch);
        network_cost_free(m->network_cost);
        store_close(m->store);
        engine_free(m->engine);
        sd_event_unref(m->event);
        return mfree(m);
}
