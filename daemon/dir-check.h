/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "fsops.h"

/* A destination directory checked for the Download calls of one batch (they follow each other
 * within milliseconds), its fd kept until fs_dir_check_done(). A later check of the same path
 * for the same identity is as strict as a fresh one, only cheaper: the path, looked up as the
 * owner, must still lead to the kept directory on the same mount (device, inode, mount id),
 * and the kernel is asked again, on the kept fd, whether the owner may list, create in and
 * enter it; else the directory is checked afresh (and its error is that check's). Checks of
 * one `epoch` (not 0: the calls of one iteration of the loop) share one, as the files of one
 * call do. Start with FS_DIR_CHECK_INIT. */
typedef struct FsDirCheck {
        char *path;
        FsIdentity id;          /* a copy of the identity it was checked for */
        dev_t dev;
        ino_t ino;
        uint64_t mnt_id;
        uint64_t epoch;         /* of the last check, 0: none to share */
        int fd;
} FsDirCheck;
#define FS_DIR_CHECK_INIT { .fd = -1 }
void fs_dir_check_done(FsDirCheck *c);
/* A name looked up in the directory by the same check (one switch to the owner for both):
 * r as fsops_stat_regular() returns it, st filled as it fills it. */
typedef struct FsNameLookup {
        const char *name;
        struct stat st;
        int r;
} FsNameLookup;
/* fsops_check_directory() through the kept directory of c; lookup (or NULL) is set when the
 * directory checks out. An epoch of 0 never shares a check. */
int fs_dir_check_directory(FsDirCheck *c, const FsIdentity *id, const char *dir, uint64_t epoch,
                           FsNameLookup *lookup, dev_t *ret_dev, ino_t *ret_ino);
/* fsops_stat_regular() of a name in the directory c just checked (dir as it gave it). */
int fs_dir_check_stat(const FsDirCheck *c, const FsIdentity *id, const FsDir *dir, const char *name,
                         struct stat *ret_st);
