/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* malloc's thresholds of the whole daemon (main.c sets them; a stretch below restores them). */
#define HEAP_MMAP_THRESHOLD (2 * 1024 * 1024)
#define HEAP_TRIM_THRESHOLD (4 * 1024 * 1024)

/* A stretch of the heap's top made ready, before a large load, to be backed by transparent
 * huge pages as it is filled. While it is free, malloc takes blocks of any size from it, also
 * those over the mapping threshold (a block growing there stays there). */
typedef struct HeapHuge {
        void *start;
        size_t size;    /* 0: nothing was advised (too small, or no heap to grow) */
        bool active;    /* malloc's trim threshold is raised until heap_huge_end() */
} HeapHuge;

void heap_huge_begin(HeapHuge *h, size_t bytes);
/* The stretch is then advised MADV_NOHUGEPAGE, not left without advice: with THP "always" it
 * stays out of huge pages for good (khugepaged must not fill the holes of later frees). */
void heap_huge_end(HeapHuge *h);

/* fn(userdata) with a stretch of `bytes` prepared around it (nothing when too small); returns
 * fn's result, and whether a stretch was there in *ret_stretched. For a large reply built by
 * the bus: its caller gives the memory back with heap_huge_give_back() once it is sent. */
int heap_huge_run(size_t bytes, int (*fn)(void *userdata), void *userdata, bool *ret_stretched);
/* The heap's free pages back to the system, wherever they are (malloc_trim). */
void heap_huge_give_back(void);
