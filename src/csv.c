/* csv.c - incremental CSV/TSV metric reader (see csv.h).
 *
 * One pass over the bytes through a small RFC 4180 state machine.  Each
 * cell is decoded into a buffer and handled as soon as it ends, so only
 * the current cell, the header names and the current row's fields are
 * kept: memory is bounded by CKPTD_MAX_LINE however the input is split. */
#include "ckptd/array.h"
#include "ckptd/bom.h"
#include "ckptd/csv.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum csv_state {
	ST_CELL,     /* at the start of a cell */
	ST_PLAIN,    /* inside an unquoted cell */
	ST_QUOTED,   /* inside a quoted cell */
	ST_QUOTE,    /* after a quote in a quoted cell: the closing one or half of "" */
	ST_DISCARD,  /* skipping an over-long line up to its newline */
};

enum cell_kind { CELL_ABSENT, CELL_VALUE, CELL_BAD };

struct column {
	size_t off, len;   /* name in c->names */
	bool use;          /* stored: named, not the key, not shadowed by a later column */
};


struct ckptd_csv {
	struct ckptd_reader_opts opts;   /* opts.key_field points at key */
	char *key;
	struct ckptd_records *out;
	struct ckptd_reader_stats stats;

	unsigned bom;          /* bom.h state */
	enum csv_state st;
	size_t raw;            /* bytes of the current record so far, newline excluded */
	uint64_t lineno;       /* newlines seen */
	uint64_t first_line;   /* 1-based line where the current record began */

	char *cell;            /* the cell being read, NUL-terminated when handled */
	size_t clen, ccap;
	size_t ncells;         /* cells completed in the current record */

	/* The current data row. */
	struct ckptd_field *fields;
	size_t nfields, fcap;
	bool has_key;
	int64_t keyv;
	uint64_t row_bad;

	/* The header. */
	bool have_header;
	char *names;           /* header names, NUL-separated */
	size_t nlen, ncap;
	struct column *cols;
	size_t ncols, colcap;
	bool has_key_col;
	size_t key_col;
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Trim s[0..len) in place to [*b, *e). */
static void trim(const char *s, size_t len, size_t *b, size_t *e)
{
	size_t i = 0, j = len;
	while (i < j && is_space(s[i]))
		i++;
	while (j > i && is_space(s[j - 1]))
		j--;
	*b = i;
	*e = j;
}

/* nan, inf, infinity in any case, with an optional sign. */
static bool non_finite(const char *s, size_t n, double *out)
{
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (n == 3 && strncasecmp(s, "nan", 3) == 0)
		*out = (double)NAN;
	else if ((n == 3 && strncasecmp(s, "inf", 3) == 0) ||
	         (n == 8 && strncasecmp(s, "infinity", 8) == 0))
		*out = neg ? -(double)INFINITY : (double)INFINITY;
	else
		return false;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool decimal_char(char ch)
{
	return is_digit(ch) || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-';
}

/* [-+]digits[.digits] with at most 15 significant digits is m / 10^k for
 * an exact integer m < 2^53 and k <= 22: one division of exact doubles,
 * correctly rounded, so the same double strtod gives (Clinger's fast
 * path).  Logs are mostly such numbers and strtod is the hot spot. */
static bool fast_decimal(const char *s, size_t n, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
	                                 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	uint64_t m = 0;
	int digits = 0, frac = -1;
	bool any = false;
	for (; i < n; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!is_digit(s[i]))
			return false;
		any = true;
		if (m == 0 && s[i] == '0' && frac < 0)
			continue;   /* leading zeros of the integer part */
		if (++digits > 15)
			return false;
		m = m * 10 + (uint64_t)(s[i] - '0');
		frac += frac >= 0;
	}
	if (!any)
		return false;
	double v = (double)m / pow10[frac > 0 ? frac : 0];
	*out = neg ? -v : v;
	return true;
}

/* "-0" is 0: a -0.0 would print as -0 in pick, state and events, and the
 * jsonl reader (json-c reads -0 as the integer 0) already gives 0. */
static enum cell_kind nonneg_zero(double *v)
{
	if (*v == 0)
		*v = 0;
	return CELL_VALUE;
}

/* A cell as a value.  s is writable and s[len] is NUL. */
static enum cell_kind parse_value(char *s, size_t len, double *out)
{
	size_t b, e;
	trim(s, len, &b, &e);
	if (b == e || (e - b == 2 && s[b] == 'N' && s[b + 1] == 'A'))
		return CELL_ABSENT;
	if (fast_decimal(s + b, e - b, out) || non_finite(s + b, e - b, out))
		return nonneg_zero(out);
	/* Plain decimal only: strtod would also take hex and nan(...). */
	for (size_t i = b; i < e; i++)
		if (!decimal_char(s[i]))
			return CELL_BAD;
	s[e] = '\0';
	char *end;
	*out = strtod(s + b, &end);
	return end == s + e ? nonneg_zero(out) : CELL_BAD;
}

/* A key cell: a finite integral number >= 0 ("8", "8.0", "8e0"), exactly
 * for integers beyond 2^53. */
static bool parse_key(char *s, size_t len, int64_t *out)
{
	size_t b, e;
	trim(s, len, &b, &e);
	size_t i = b + (b < e && s[b] == '+');
	if (i < e) {
		int64_t v = 0;
		size_t k = i;
		for (; k < e && s[k] >= '0' && s[k] <= '9'; k++) {
			int d = s[k] - '0';
			if (v > (INT64_MAX - d) / 10)
				return false;
			v = v * 10 + d;
		}
		if (k == e) {
			*out = v;
			return true;
		}
	}
	double d;
	if (parse_value(s, len, &d) != CELL_VALUE || !isfinite(d) || d < 0 ||
	    d != trunc(d) || d >= 9223372036854775808.0)
		return false;
	*out = (int64_t)d;
	return true;
}

static bool add_offset(int64_t k, int64_t off, int64_t *out)
{
	if ((off > 0 && k > INT64_MAX - off) || (off < 0 && k < INT64_MIN - off))
		return false;
	*out = k + off;
	return true;
}

/* Forget the record in progress; the next byte starts a new one. */
static void record_start(struct ckptd_csv *c)
{
	c->st = ST_CELL;
	c->raw = 0;
	c->clen = 0;
	c->ncells = 0;
	c->nfields = 0;
	c->has_key = false;
	c->row_bad = 0;
	c->first_line = c->lineno + 1;
	if (!c->have_header) {
		c->nlen = 0;
		c->ncols = 0;
	}
}

static int header_cell(struct ckptd_csv *c)
{
	size_t b, e;
	trim(c->cell, c->clen, &b, &e);
	/* names go to JSON output: not-UTF-8 bytes become U+FFFD (reader.h) */
	size_t n = utf8_clean(NULL, c->cell + b, e - b);
	if (array_grow(&c->names, &c->ncap, c->nlen + n + 1, 1, 16) < 0 ||
	    array_grow(&c->cols, &c->colcap, c->ncols + 1, sizeof *c->cols, 16) < 0)
		return -1;
	utf8_clean(c->names + c->nlen, c->cell + b, e - b);
	c->names[c->nlen + n] = '\0';
	c->cols[c->ncols++] = (struct column){ .off = c->nlen, .len = n, .use = n > 0 };
	c->nlen += n + 1;
	return 0;
}

struct name_ref {
	const char *name;
	size_t len, col;
};

static int name_order(const struct name_ref *x, const struct name_ref *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->name, y->name, n);
	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* By name, then by column: the last of a run of equal names wins. */
static int name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = name_order(x, y);
	if (r)
		return r;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* The header is complete: of columns sharing a name the later wins, and
 * the key column is found.  Sorting keeps wide headers n log n. */
static int header_done(struct ckptd_csv *c)
{
	struct name_ref *refs = calloc(c->ncols ? c->ncols : 1, sizeof *refs);
	if (!refs)
		return -1;
	for (size_t i = 0; i < c->ncols; i++)
		refs[i] = (struct name_ref){ c->names + c->cols[i].off, c->cols[i].len, i };
	qsort(refs, c->ncols, sizeof *refs, name_cmp);
	for (size_t i = 0; i + 1 < c->ncols; i++)
		if (name_order(&refs[i], &refs[i + 1]) == 0)
			c->cols[refs[i].col].use = false;
	free(refs);
	c->has_key_col = false;
	size_t klen = strlen(c->key);
	for (size_t i = c->ncols; i-- > 0;) {
		struct column *col = &c->cols[i];
		if (col->len == klen && memcmp(c->names + col->off, c->key, klen) == 0) {
			if (!c->has_key_col) {
				c->has_key_col = true;
				c->key_col = i;
			}
			col->use = false;
		}
	}
	c->have_header = true;
	return 0;
}

static int data_cell(struct ckptd_csv *c)
{
	size_t i = c->ncells;
	if (i >= c->ncols) {
		size_t b, e;
		trim(c->cell, c->clen, &b, &e);
		c->row_bad += b < e;   /* a trailing delimiter is not worth counting */
		return 0;
	}
	if (c->has_key_col && i == c->key_col) {
		c->has_key = parse_key(c->cell, c->clen, &c->keyv);
		return 0;
	}
	if (!c->cols[i].use)
		return 0;
	double v;
	switch (parse_value(c->cell, c->clen, &v)) {
	case CELL_ABSENT:
		return 0;
	case CELL_BAD:
		c->row_bad++;
		return 0;
	case CELL_VALUE:
		break;
	}
	if (array_grow(&c->fields, &c->fcap, c->nfields + 1, sizeof *c->fields, 16) < 0)
		return -1;
	/* c->names no longer moves once the header is complete. */
	c->fields[c->nfields++] = (struct ckptd_field){ c->names + c->cols[i].off, c->cols[i].len, v };
	return 0;
}

static int cell_end(struct ckptd_csv *c)
{
	/* A record may end a cell before any byte was pushed (",a" as the
	 * first line, '""' then the delimiter): the buffer may not exist yet,
	 * and writing its NUL crashed (fuzz: regress/csv/empty-first-cell). */
	if (array_grow(&c->cell, &c->ccap, c->clen + 1, 1, 16) < 0)
		return -1;
	c->cell[c->clen] = '\0';
	int r = c->have_header ? data_cell(c) : header_cell(c);
	c->ncells++;
	c->clen = 0;
	return r;
}

/* A data row is complete.  One without a usable key is skipped whole:
 * its other cells are not judged. */
static int row_end(struct ckptd_csv *c)
{
	int64_t key;
	if (!c->has_key || !add_offset(c->keyv, c->opts.key_offset, &key)) {
		c->stats.no_key++;
		return 0;
	}
	if (records_put_row(c->out, key, c->fields, c->nfields) < 0)
		return -1;
	c->stats.rows++;
	c->stats.bad_cells += c->row_bad;
	return 0;
}

/* The record ended (newline, or end of input).  The \r of a CRLF stays
 * in the last cell: names and values are trimmed of white space anyway. */
static int record_end(struct ckptd_csv *c)
{
	size_t b, e;
	trim(c->cell, c->clen, &b, &e);
	/* A blank line is nothing, before the header or after it. */
	bool blank = c->ncells == 0 && b == e;
	int r = 0;
	if (!blank) {
		r = cell_end(c);
		c->stats.lines++;
		if (r == 0)
			r = c->have_header ? row_end(c) : header_done(c);
	}
	record_start(c);
	return r;
}

static void too_long(struct ckptd_csv *c)
{
	c->stats.long_lines++;
	if (c->opts.warn)
		c->opts.warn(c->opts.warn_arg, c->first_line, "line longer than 1 MiB skipped");
	c->st = ST_DISCARD;
	c->clen = 0;
}

static int push(struct ckptd_csv *c, char ch)
{
	/* +1: room for the NUL cell_end() writes. */
	if (array_grow(&c->cell, &c->ccap, c->clen + 2, 1, 16) < 0)
		return -1;
	c->cell[c->clen++] = ch;
	return 0;
}

/* One byte outside quotes: delimiter, newline or cell text. */
static int plain_byte(struct ckptd_csv *c, char ch)
{
	if (ch == c->opts.delim) {
		c->st = ST_CELL;
		return cell_end(c);
	}
	c->st = ST_PLAIN;
	return push(c, ch);
}

static int step(struct ckptd_csv *c, char ch)
{
	switch (c->st) {
	case ST_CELL:
		if (ch == '"') {
			c->st = ST_QUOTED;
			return 0;
		}
		return plain_byte(c, ch);
	case ST_PLAIN:
		return plain_byte(c, ch);
	case ST_QUOTED:
		if (ch == '"') {
			c->st = ST_QUOTE;
			return 0;
		}
		return push(c, ch);
	case ST_QUOTE:
		if (ch == '"') {
			c->st = ST_QUOTED;
			return push(c, ch);
		}
		/* Text after a closing quote is kept, as most readers do. */
		return plain_byte(c, ch);
	case ST_DISCARD:
		break;
	}
	return 0;
}

/* How many bytes from p go into an unquoted cell as they are: up to a
 * delimiter or newline, and within the line limit (the byte path then
 * deals with what ends the run). */
static size_t plain_run(const struct ckptd_csv *c, const char *p, size_t n)
{
	size_t room = CKPTD_MAX_LINE - c->raw, k = 0;
	if (n > room)
		n = room;
	while (k < n && p[k] != c->opts.delim && p[k] != '\n')
		k++;
	return k;
}

static int append(struct ckptd_csv *c, const char *p, size_t k)
{
	if (array_grow(&c->cell, &c->ccap, c->clen + k + 1, 1, 16) < 0)
		return -1;
	memcpy(c->cell + c->clen, p, k);
	c->clen += k;
	c->raw += k;
	return 0;
}

/* The bytes after the BOM check. */
static int scan(struct ckptd_csv *c, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		if (c->st == ST_DISCARD) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				return 0;
			p = nl + 1;
			c->lineno++;
			record_start(c);
			continue;
		}
		if (c->st == ST_PLAIN) {
			size_t k = plain_run(c, p, (size_t)(end - p));
			if (k > 0) {
				if (append(c, p, k) < 0)
					return -1;
				p += k;
				continue;
			}
		}
		char ch = *p++;
		if (ch == '\n') {
			c->lineno++;
			if (c->st != ST_QUOTED) {
				if (record_end(c) < 0)
					return -1;
				continue;
			}
		}
		if (++c->raw > CKPTD_MAX_LINE) {
			too_long(c);
			continue;
		}
		if (step(c, ch) < 0)
			return -1;
	}
	return 0;
}

/* The bytes seen so far were not a BOM after all: replay them. */
static int scan_sink(void *reader, const char *p, size_t n)
{
	return scan(reader, p, n);
}

struct ckptd_csv *csv_new(const struct ckptd_reader_opts *opts, struct ckptd_records *out)
{
	char delim = opts && opts->delim ? opts->delim : ',';
	if (!opts || !opts->key_field || !out || delim == '"' || delim == '\n' || delim == '\r') {
		errno = EINVAL;
		return NULL;
	}
	struct ckptd_csv *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	/* cleaned like the header names it is matched against */
	size_t kn = strlen(opts->key_field);
	c->key = malloc(utf8_clean(NULL, opts->key_field, kn) + 1);
	if (c->key)
		c->key[utf8_clean(c->key, opts->key_field, kn)] = '\0';
	if (!c->key) {
		free(c);
		return NULL;
	}
	c->opts = *opts;
	c->opts.key_field = c->key;
	c->opts.delim = delim;
	c->out = out;
	csv_reset(c);
	return c;
}

void csv_free(struct ckptd_csv *c)
{
	if (!c)
		return;
	free(c->key);
	free(c->cell);
	free(c->fields);
	free(c->names);
	free(c->cols);
	free(c);
}

int csv_feed(struct ckptd_csv *c, const char *buf, size_t len)
{
	return bom_feed(&c->bom, buf, len, scan_sink, c);
}

int csv_finish(struct ckptd_csv *c)
{
	if (bom_finish(&c->bom, scan_sink, c) < 0)
		return -1;
	int r = 0;
	if (c->st == ST_QUOTED) {
		c->stats.bad_lines++;   /* an unclosed quote does not parse */
	} else if (c->st != ST_DISCARD && (c->raw > 0 || c->ncells > 0)) {
		r = record_end(c);
		c->lineno++;
	}
	record_start(c);
	return r;
}

void csv_reset(struct ckptd_csv *c)
{
	c->bom = BOM_START;
	c->lineno = 0;
	c->have_header = false;
	c->has_key_col = false;
	memset(&c->stats, 0, sizeof c->stats);
	record_start(c);
}

const struct ckptd_reader_stats *csv_stats(const struct ckptd_csv *c)
{
	return &c->stats;
}
