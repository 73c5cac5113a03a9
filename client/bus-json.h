/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* D-Bus values as JSON, for properties xferctl has no special form for: numbers and
 * booleans as such, strings and object paths as strings, arrays and structs as arrays,
 * dictionaries as objects (keys as strings), variants as their content. */

#include <systemd/sd-bus.h>

#include "json.h"

/* Reads the next complete value of m and writes it. Returns 0 or a negative errno. */
int bus_json_append(JsonWriter *w, sd_bus_message *m);

/* Reads the next complete value of m into a compact JSON string (for one-line output). */
int bus_json_to_string(sd_bus_message *m, char **ret);
