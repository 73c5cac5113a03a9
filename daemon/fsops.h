/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The only code that names paths on disk. Every operation runs with the file-system identity
 * of the job's owner (uid, gid, supplementary groups), so xferd never reaches a path its
 * owner could not reach directly; names inside the destination directory are resolved
 * relative to a directory descriptor and never through a symlink. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs-identity.h"

/* Free space to leave on a file system (KeepFree): the smaller of `bytes` and `percent` of
 * its size, either 0 for unset; both 0: none. */
typedef struct DiskReserve {
        uint64_t bytes;
        unsigned percent;
} DiskReserve;

/* The bytes a reserve keeps free on a file system of `size` bytes. Pure. */
uint64_t disk_reserve_bytes(const DiskReserve *r, uint64_t size);

/* The destination directory as it was when the file was added; operations refuse a
 * directory that has been replaced since (another inode at the same path). */
typedef struct FsDir {
        const char *path;
        dev_t dev;
        ino_t ino;
} FsDir;

/* Checks that `dir` is an existing directory the owner may create files in, and returns its
 * identity. -ENOTDIR, -ENOENT, -EACCES … on failure. */
int fsops_check_directory(const FsIdentity *id, const char *dir, dev_t *ret_dev, ino_t *ret_ino);

/* Opens a file to upload for reading: a regular file the owner may read, never through a
 * symlink at the last component. Fills the identity of its directory and its stat. */
int fsops_open_source(const FsIdentity *id, const char *dir, const char *name,
                      dev_t *ret_dev, ino_t *ret_ino, struct stat *ret_st);
/* The same, later: the directory must still be the one recorded. */
int fsops_reopen_source(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st);

/* Opens an existing temporary file for reading and writing; -ENOENT when it has vanished, -EBADFD when
 * something other than a regular file is there. */
int fsops_open_temporary(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st);


/* Writes len bytes at offset into fd (a temporary file opened by the functions above) with the
 * owner's identity and without the daemon's capabilities, so that the blocks a file system
 * reserves for root and the owner's quota count as they would for the owner's own write.
 * *ret_done says how many bytes were written, also when it fails with -errno. */
int fsops_write_at(const FsIdentity *id, int fd, const void *buf, size_t len, uint64_t offset,
                   size_t *ret_done);

/* Unlinks one name in the directory; a missing name counts as success. */
int fsops_unlink(const FsIdentity *id, const FsDir *dir, const char *name);
/* fsops_unlink(), but a regular file of at least keep_size bytes is opened first: *ret_fd
 * (-1 otherwise), whose close frees its blocks (a worker's, after the reply a call waits for). */
int fsops_unlink_kept(const FsIdentity *id, const FsDir *dir, const char *name, uint64_t keep_size, int *ret_fd);

/* One opened and checked directory, shared by the operations of one batch on files of the
 * same directory and identity (one call of the daemon, no loop iteration in between, so it
 * is as fresh as a check per operation). The identity it was opened with must outlive the
 * batch. Start with FS_DIR_CACHE_INIT, end with fs_dir_cache_done(). */
typedef struct FsDirCache {
        const FsIdentity *identity;
        dev_t dev;
        ino_t ino;
        int fd;
        /* A kept directory's (fsops_create_temporary()): the path last found to lead to it, as
         * the identity, and the caller's epoch of that lookup (0: none). */
        char *checked_path;
        uint64_t checked_epoch;
} FsDirCache;
#define FS_DIR_CACHE_INIT { .fd = -1 }
void fs_dir_cache_done(FsDirCache *c);

/* Creates a new temporary file (O_EXCL, mode 0600, never through a symlink). kept (or NULL): the
 * directory kept open for the files of the running jobs, across loop iterations; a call looks
 * its path up again as the owner (one stat() instead of open, fstat and close) and opens the
 * directory afresh when the path leads elsewhere now. Calls of one `epoch` (not 0: one
 * iteration of the caller's loop, as dir-check.h's checks of one batch) share the lookup of
 * one path: the jobs one scheduler pass starts in one directory. */
int fsops_create_temporary(const FsIdentity *id, const FsDir *dir, FsDirCache *kept, uint64_t epoch,
                           const char *name);

/* Complete, in steps, so that many files share their durability work: open a finished
 * temporary file and give it its final mode (*ret_st: what the open found; the caller then
 * syncs the data, one file or one file system at a time), rename it over the destination, and
 * sync each directory once. cache may be NULL. */
int fsops_open_finished(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                        mode_t mode, struct stat *ret_st);
int fsops_rename(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                 const char *final_name);

int fsops_sync_directory(const FsIdentity *id, const FsDir *dir, FsDirCache *cache);

/* The stat of a regular file in the directory (a temporary file, or a destination):
 * -ENOENT when missing, -EBADFD (with *ret_st filled) when something else is there; cache
 * may be NULL. */
int fsops_stat_regular(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *name,
                         struct stat *ret_st);
