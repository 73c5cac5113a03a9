/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* malloc's thresholds of the whole daemon (main.c sets them; a stretch below restores them). */
#define HEAP_MMAP_THRESHOLD (2 * 1024 * 1024)
#define HEAP_TRIM_THRESHOLD (4 * 1024 * 1024)

/* A stretch of the heap's top made ready, before a large load, to be backed by transparent
 * huge pages as it is filled. */
typedef struct HeapHuge {
        void *start;
        size_t size;    /* 0: nothing was advised (too small, or no heap to grow) */
} HeapHuge;

void heap_huge_begin(HeapHuge *h, size_t bytes);
void heap_huge_end(HeapHuge *h);
