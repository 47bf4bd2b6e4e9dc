/* jsonl.h - incremental JSON-lines metric reader (json-c).
 *
 * One object per line; numbers are values (booleans, strings, arrays and
 * null are not); nested objects flatten with dots; keys may hold '/'.
 * Python's bare NaN, Infinity, -Infinity are non-finite values.  A line
 * that is not an object is skipped and counted in bad_lines; blank lines
 * are ignored. */
#ifndef CKPTD_JSONL_H
#define CKPTD_JSONL_H

#include "ckptd/reader.h"
#include "ckptd/records.h"

struct ckptd_jsonl;

struct ckptd_jsonl *jsonl_new(const struct ckptd_reader_opts *opts, struct ckptd_records *out);
void jsonl_free(struct ckptd_jsonl *j);
int jsonl_feed(struct ckptd_jsonl *j, const char *buf, size_t len);
int jsonl_finish(struct ckptd_jsonl *j);
void jsonl_reset(struct ckptd_jsonl *j);
const struct ckptd_reader_stats *jsonl_stats(const struct ckptd_jsonl *j);

#endif
