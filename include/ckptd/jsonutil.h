/* jsonutil.h - numbers for JSON output (json-c). */
#ifndef CKPTD_JSONUTIL_H
#define CKPTD_JSONUTIL_H

#include <stddef.h>
#include <json-c/json.h>

/* The shortest text that reads back as v ("0.79", not 0.79000000000000004). */
void num_format(double v, char *buf, size_t len);
/* A JSON number printed as num_format does.  NaN and infinity give NULL,
 * which json-c writes as null: strict JSON has no such numbers. */
struct json_object *json_number(double v);

#endif
