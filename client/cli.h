/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The command line of xferctl: the verbs, the options (each valid for some verbs), parsing
 * into a Ctl, and the help texts (`xferctl --help`, `xferctl VERB --help`). */

#include "bus-connect.h"
#include "xferctl.h"

typedef struct Verb {
        const char *name;
        int min_args;           /* not counting the verb */
        int max_args;           /* -1: no limit */
        const char *synopsis;   /* alternatives separated by '\n' */
        const char *summary;    /* one line for `xferctl --help` */
        const char *description;
        VerbFunction run;
} Verb;

typedef enum ParseResult {
        PARSE_RUN,              /* run *ret_verb */
        PARSE_DONE,             /* help or version printed: exit 0 */
        PARSE_USAGE,            /* a usage error was reported: exit EXIT_USAGE */
} ParseResult;

/* Parses argv into c and *bus, and finds the verb; on PARSE_RUN argv[*ret_index] is the
 * verb and its arguments follow, options removed. Reports usage errors itself. */
ParseResult cli_parse(int argc, char **argv, Ctl *c, BusChoice *bus, const Verb **ret_verb, int *ret_index);

/* Where a person learns to start xferd, after it could not be reached. */
void cli_unreachable_hint(bool user_bus);
