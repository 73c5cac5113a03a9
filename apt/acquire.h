/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One 600 URI Acquire carried out by one xferd job of its own (so that its If-Modified-Since
 * and its checksum stay its own):
 *
 *   CreateJob → (introspection, once per run) → SetHttpHeaders(If-Modified-Since) →
 *   AddFile(url, Filename) or AddFileWithOptions(… checksum, size) → BandwidthLimit,
 *   CostPolicy → Resume → PropertiesChanged … transferred → ListFiles → hash the temporary
 *   file → Complete (or Cancel when the hashes disagree) → 201 URI Done.
 *
 * Every way out that leaves a job behind goes through Cancel first, and apt hears of the
 * failure only once Cancel has answered, so nothing of the job is on disk by then. */

#include "message.h"
#include "method.h"

/* Parses the message and links the acquire into m->acquires; a message that cannot be used
 * is answered with a 400 URI Failure at once (then *ret is NULL). */
int acquire_new(Method *m, const Message *msg, Acquire **ret);

/* xferd answered: create the job. */
void acquire_start(Acquire *a);
/* xferd cannot be reached: fail the acquire, or with Acquire::xferd::Fallback hand it to apt's
 * own method with a 103 Redirect. */
void acquire_unavailable(Acquire *a, const char *why);
/* A PropertiesChanged of a job object; ignored unless it is this acquire's job. */
bool acquire_owns_job(const Acquire *a, const char *path);
void acquire_job_changed(Acquire *a, sd_bus_message *m);
/* xferd left the bus while the job ran: read its state again (this starts xferd again). */
void acquire_refresh(Acquire *a);
/* The method is stopping (apt closed the pipe, SIGINT, SIGTERM): cancel the job without
 * telling apt anything; the acquire frees itself once Cancel has answered. */
void acquire_abandon(Acquire *a);

/* The acquires in flight, in the order apt sent them. */
Acquire *acquire_first(const Method *m);
Acquire *acquire_next(const Acquire *a);
