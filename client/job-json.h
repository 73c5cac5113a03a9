/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Job data as JSON. Keys are the D-Bus property names, so the JSON reads like the contract.
 * A byte count of UINT64_MAX ("unknown") becomes null: JSON readers that use doubles could
 * not tell it from 2^64. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "json.h"

/* A byte total: null while unknown. */
void job_json_bytes_total(JsonWriter *w, uint64_t v);

/* The member "BytesTotal": v, null while unknown. */
void job_json_member_bytes_total(JsonWriter *w, uint64_t v);

/* Reads an a{sv} of Job properties and writes it as an object. */
int job_json_append_properties(JsonWriter *w, sd_bus_message *m);
