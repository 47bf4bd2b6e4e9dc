/* metrics.h - one front for every metric log: picks the reader from the
 * format (or the file name), and puts a streaming zstd decoder in front
 * of it for .zst logs.  Used alike by `ckptctl pick` and the daemon. */
#ifndef CKPTD_METRICS_H
#define CKPTD_METRICS_H

#include <stdbool.h>
#include "ckptd/reader.h"
#include "ckptd/records.h"

enum ckptd_format { CKPTD_FMT_AUTO, CKPTD_FMT_CSV, CKPTD_FMT_TSV, CKPTD_FMT_JSONL };

/* From a file name: .csv, .tsv, .jsonl/.ndjson/.json, each optionally
 * followed by .zst.  Returns 0, or -1 when the extension says nothing
 * (the caller then falls back to csv). */
int metrics_format_from_name(const char *path, enum ckptd_format *fmt, bool *zst);

struct ckptd_metrics;

/* fmt must not be AUTO; opts->delim is set from fmt. */
struct ckptd_metrics *metrics_new(enum ckptd_format fmt, bool zst,
                                  const struct ckptd_reader_opts *opts,
                                  struct ckptd_records *out);
void metrics_free(struct ckptd_metrics *m);
/* 0; -1 with errno ENOMEM, or EBADMSG when the zstd stream is corrupt
 * (the reader then ignores input until metrics_reset). */
int metrics_feed(struct ckptd_metrics *m, const char *buf, size_t len);
int metrics_finish(struct ckptd_metrics *m);
void metrics_reset(struct ckptd_metrics *m);
const struct ckptd_reader_stats *metrics_stats(const struct ckptd_metrics *m);

/* Read a whole finished log into out (the unterminated last line is
 * taken).  Returns 0, or -1 with errno from open/read (ENOENT: missing)
 * or EBADMSG (corrupt zstd). */
int metrics_read_file(const char *path, enum ckptd_format fmt,
                      const struct ckptd_reader_opts *opts,
                      struct ckptd_records *out, struct ckptd_reader_stats *stats);

#endif
