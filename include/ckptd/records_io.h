/* records_io.h - a records table as JSON, so that a restarted daemon
 * continues where it was instead of reading the whole log again.  Values
 * keep NaN and infinity (json-c writes and reads them); each record keeps
 * its resume generation. */
#ifndef CKPTD_RECORDS_IO_H
#define CKPTD_RECORDS_IO_H

#include <json-c/json.h>

#include "ckptd/records.h"

/* NULL with errno ENOMEM. */
struct json_object *records_to_json(const struct ckptd_records *r);
/* Into an empty table.  0, or -1 with errno EINVAL (malformed) / ENOMEM. */
int records_from_json(struct ckptd_records *r, struct json_object *o);

#endif
