/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A job owner's file-system identity, and the switch of the calling thread to it. Why
 * setfsuid/setfsgid and the raw setgroups system call: they change the credentials of the
 * calling thread only (fs-identity.c says more). */

#include <linux/capability.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct FsIdentity {
        uid_t uid;
        gid_t gid;
        int n_groups;
        gid_t *groups;
} FsIdentity;

/* Looks up the user's primary group and supplementary groups. */
int fs_identity_load(uid_t uid, FsIdentity *ret);
/* A caller's identity from every group its connection holds (the primary one among them, as
 * the bus reports them): those groups, and as the group of new files the user's primary group
 * if the caller holds it, else the overflow group ("nogroup"): never a group it does not hold. */
int fs_identity_from_groups(uid_t uid, const gid_t *groups, size_t n_groups, FsIdentity *ret);
void fs_identity_done(FsIdentity *id);
/* A copy with its own groups (fs_identity_done() it). */
int fs_identity_copy(const FsIdentity *from, FsIdentity *to);
/* Same uid, gid and groups: the same permission checks on the way to a directory. NULL is
 * the daemon's own identity. */
bool fs_identity_equal(const FsIdentity *a, const FsIdentity *b);
/* Whether the daemon runs as root (and so switches to the owners). */
bool fs_identity_daemon_is_root(void);

/* What fs_identity_enter() changed, for fs_identity_leave() to restore. */
typedef struct FsSaved {
        bool switched;
        bool caps_dropped;
        struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
        int n_groups;
        gid_t groups[64];
} FsSaved;

/* The calling thread acts as `id` (NULL or root: stays itself) until fs_identity_leave(), which
 * the caller's _cleanup_ runs on every return; a failure is logged. */
int fs_identity_enter(const FsIdentity *id, FsSaved *saved);
void fs_identity_leave(FsSaved *saved);
