/* reader.h - what every metric-log reader shares: options and counters.
 *
 * Readers know nothing of files: bytes in (any split, one byte at a time
 * included), rows out into a struct ckptd_records.  A partial last line
 * waits for its newline until *_finish() is called. */
#ifndef CKPTD_READER_H
#define CKPTD_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Metric names end up in JSON (`ckptctl pick --json`, state.json,
 * events.jsonl), which must be UTF-8: a log whose header or member name is
 * not (latin-1, binary garbage, NUL) made that output invalid JSON.  Readers
 * copy names through utf8_clean(), which replaces each byte that does not
 * start a valid, shortest-form UTF-8 sequence (and NUL) with U+FFFD. */
static inline size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t len;
	if (c > 0 && c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, cp = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Copies src[0..n) to dst cleaned (dst may be NULL); returns the length
 * written, at most 3 * n. */
static inline size_t utf8_clean(char *dst, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq((const unsigned char *)src + i, n - i);
		if (l == 0) {
			if (dst)
				memcpy(dst + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			if (dst)
				memcpy(dst + o, src + i, l);
			o += l;
			i += l;
		}
	}
	return o;
}

#endif
