/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Local paths typed by the user, made into what the daemon accepts (absolute paths). */

/* An absolute form of path: relative paths are taken from the current directory; "." and
 * repeated "/" are dropped (".." stays: only the file system knows where it leads). */
int path_make_absolute(const char *path, char **ret);
/* The same, reporting a failure itself. */
int path_make_absolute_or_report(const char *path, char **ret);

/* For `download URL PATH`: when PATH is an existing directory or ends in "/", the file name
 * is the last segment of the URL's path (like wget). Reports failures itself. */
int path_download_target(const char *url, const char *path, char **ret);

/* The last component of path ("" for "/"), without trailing slashes; for display names. */
char *path_basename(const char *path);
