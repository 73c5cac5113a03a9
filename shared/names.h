/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public names of the xferd D-Bus API (see docs/api.md): the daemon's bus layer, xferctl
 * and the apt method spell them from here. */

#define XFERD_BUS_NAME        "org.xferd.Transfer1"
#define XFERD_MANAGER_PATH    "/org/xferd/Transfer1"
#define XFERD_MANAGER_IFACE   "org.xferd.Transfer1.Manager"
#define XFERD_JOB_IFACE       "org.xferd.Transfer1.Job"
#define XFERD_JOB_PATH_ROOT   "/org/xferd/Transfer1/job"
#define XFERD_JOB_PATH_PREFIX XFERD_JOB_PATH_ROOT "/"
#define XFERD_ERROR_PREFIX    "org.xferd.Transfer1.Error."

#define XFERD_JOB_ID_LEN 32

/* The match rules of xferd's clients: its name changing owner (it exited, or was started),
 * and the property changes of every job. */
#define XFERD_MATCH_OWNER_CHANGED                                                               \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"             \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" XFERD_BUS_NAME "'"
#define XFERD_MATCH_JOB_PROPERTIES                                                              \
        "type='signal',sender='" XFERD_BUS_NAME "',"                                            \
        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"               \
        "path_namespace='" XFERD_JOB_PATH_ROOT "'"
