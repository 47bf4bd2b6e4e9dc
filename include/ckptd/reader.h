/* reader.h - what every metric-log reader shares: options and counters.
 *
 * Readers know nothing of files: bytes in (any split, one byte at a time
 * included), rows out into a struct ckptd_records.  A partial last line
 * waits for its newline until *_finish() is called. */
#ifndef CKPTD_READER_H
#define CKPTD_READER_H

#include <stddef.h>
#include <stdint.h>

/* Longest line a reader accepts; longer ones are skipped with a warning. */
#define CKPTD_MAX_LINE (1024u * 1024u)

/* Called for a problem worth telling a person about once (a skipped long
 * line).  line is 1-based within the stream. */
typedef void (*ckptd_warn_fn)(void *arg, uint64_t line, const char *msg);

struct ckptd_reader_opts {
	const char *key_field;   /* "epoch" or "step"; not stored as a metric */
	int64_t key_offset;      /* added to the logged key */
	char delim;              /* csv only: ',' or '\t' */
	ckptd_warn_fn warn;      /* may be NULL */
	void *warn_arg;
};

struct ckptd_reader_stats {
	uint64_t lines;       /* complete lines (records) consumed */
	uint64_t rows;        /* rows merged into the table */
	uint64_t bad_lines;   /* lines that could not be parsed at all */
	uint64_t bad_cells;   /* non-numeric cells/values treated as absent */
	uint64_t no_key;      /* rows without a usable key, skipped */
	uint64_t long_lines;  /* lines over CKPTD_MAX_LINE, skipped */
};

#endif
