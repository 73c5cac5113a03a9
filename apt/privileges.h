/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* apt starts its methods as root and each method gives up root itself once it has the
 * configuration (APT::Sandbox::User, normally _apt), as apt's own methods do. The method
 * then talks to xferd as that user, so its jobs belong to that user and xferd writes the
 * files with that user's rights. */

/* Becomes user (supplementary groups, gid, uid; no_new_privs), when running as root and user
 * is neither empty nor "root"; otherwise does nothing. Returns 0, or a negative errno with
 * *ret_what saying what failed. */
int privileges_drop(const char *user, const char **ret_what);
