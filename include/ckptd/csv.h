/* csv.h - incremental CSV/TSV metric reader.
 *
 * A header line, then rows; RFC 4180 quoting (quoted fields may hold the
 * delimiter, "" and newlines); CRLF accepted; a UTF-8 BOM skipped.  Empty
 * cells and NA are absent; nan/inf/-inf (any case) are non-finite values;
 * other non-numeric cells are absent and counted in bad_cells. */
#ifndef CKPTD_CSV_H
#define CKPTD_CSV_H

#include "ckptd/reader.h"
#include "ckptd/records.h"

struct ckptd_csv;

/* out is borrowed and must outlive the reader. NULL with errno on failure. */
struct ckptd_csv *csv_new(const struct ckptd_reader_opts *opts, struct ckptd_records *out);
void csv_free(struct ckptd_csv *c);
/* 0, or -1 with errno ENOMEM.  Bad input is counted, never an error. */
int csv_feed(struct ckptd_csv *c, const char *buf, size_t len);
/* End of input: take an unterminated last line. */
int csv_finish(struct ckptd_csv *c);
/* The stream starts again from byte 0 (file rewritten): expect a header. */
void csv_reset(struct ckptd_csv *c);
const struct ckptd_reader_stats *csv_stats(const struct ckptd_csv *c);

#endif
