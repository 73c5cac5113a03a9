/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public names of the xferd D-Bus API (see docs/api.md). */

#define XFERD_BUS_NAME        "org.xferd.Transfer1"
#define XFERD_MANAGER_PATH    "/org/xferd/Transfer1"
#define XFERD_MANAGER_IFACE   "org.xferd.Transfer1.Manager"
#define XFERD_JOB_IFACE       "org.xferd.Transfer1.Job"
#define XFERD_JOB_PATH_PREFIX "/org/xferd/Transfer1/job/"
#define XFERD_ERROR_PREFIX    "org.xferd.Transfer1.Error."

#define XFERD_JOB_ID_LEN 32
