/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sched_setattr() has no wrapper in glibc 2.36: the system call with the kernel's structure
 * (its first version; linux/sched/types.h clashes with sched.h). Nice levels and slices are
 * per thread on Linux. */
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thread-sched.h"

struct kernel_sched_attr {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime;
        uint64_t sched_deadline;
        uint64_t sched_period;
};

int thread_sched_get_nice(void) {
        int nice;

        errno = 0;
        nice = getpriority(PRIO_PROCESS, 0);
        return errno != 0 ? 0 : nice;
}

int thread_sched_set_background(void) {
        struct kernel_sched_attr attr = {
                .size = sizeof attr,
                .sched_policy = SCHED_IDLE,
                .sched_nice = 19,
        };

        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
                return -errno;
        return 0;
}

int thread_sched_set(int nice, uint64_t slice_nsec) {
        struct kernel_sched_attr attr = {
                .size = sizeof attr,
                .sched_policy = SCHED_OTHER,
                .sched_nice = nice > 19 ? 19 : nice,
                .sched_runtime = slice_nsec,
        };

        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
                return -errno;
        return 0;
}
