/* jsonl.c - incremental JSON-lines metric reader (see jsonl.h).
 *
 * Lines are cut at '\n' with memchr; a line complete within one feed is
 * parsed in place, a line split across feeds is gathered in a buffer of
 * at most CKPTD_MAX_LINE bytes.  Each line goes to json-c whole. */
#include "ckptd/array.h"
#include "ckptd/bom.h"
#include "ckptd/jsonl.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>


/* Flattened names of one line may repeat a long parent prefix per leaf:
 * cap their total so a hostile line cannot cost more than this. */
#define MAX_NAMES (4u * CKPTD_MAX_LINE)

struct flat {
	size_t off, len;   /* name in j->names */
	double value;
};

struct ckptd_jsonl {
	struct ckptd_reader_opts opts;   /* opts.key_field points at key */
	char *key;
	struct ckptd_records *out;
	struct ckptd_reader_stats stats;
	json_tokener *tok;

	unsigned bom;          /* bom.h state */
	bool discard;          /* skipping an over-long line up to its newline */
	uint64_t lineno;       /* newlines seen */
	char *line;            /* a line split across feeds */
	size_t len, cap;

	/* Scratch for flattening one object. */
	char *path;            /* the dotted name being built */
	size_t plen, pcap;
	char *names;           /* leaf names, back to back */
	size_t nlen, ncap;
	struct flat *flat;
	size_t nflat, flatcap;
	struct ckptd_field *fields;
	size_t fcap;
};

static bool json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!json_space(s[i]))
			return false;
	return true;
}

/* The key member: a number, integral, >= 0, fitting int64 with the offset. */
static bool get_key(const struct ckptd_jsonl *j, json_object *obj, int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, j->key, &v))
		return false;
	int64_t k;
	if (json_object_is_type(v, json_type_int)) {
		k = json_object_get_int64(v);
		/* get_int64 clamps integers above INT64_MAX */
		if (k < 0 || (k == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX))
			return false;
	} else if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (!isfinite(d) || d < 0 || d != trunc(d) || d >= 9223372036854775808.0)
			return false;
		k = (int64_t)d;
	} else {
		return false;
	}
	int64_t off = j->opts.key_offset;
	if ((off > 0 && k > INT64_MAX - off) || (off < 0 && k < INT64_MIN - off))
		return false;
	*out = k + off;
	return true;
}

/* Collect every number under obj as path.name; -1 with errno set on
 * ENOMEM, or E2BIG when the names outgrow MAX_NAMES. */
static int flatten(struct ckptd_jsonl *j, json_object *obj, bool top)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	size_t base = j->plen;
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it);
		if (top && strcmp(name, j->key) == 0)
			continue;   /* the key names the record; it is not a metric */
		json_type t = json_object_get_type(v);
		if (t != json_type_int && t != json_type_double && t != json_type_object)
			continue;
		/* names go to JSON output: not-UTF-8 bytes become U+FFFD (reader.h) */
		size_t raw = strlen(name), n = utf8_clean(NULL, name, raw), dot = base > 0;
		if (base + dot + n > MAX_NAMES) {
			errno = E2BIG;
			return -1;
		}
		/* +1: never a NULL path, even for the empty name "" (pointer
		 * arithmetic on NULL is undefined; fuzz: regress/jsonl/empty-name) */
		if (array_grow(&j->path, &j->pcap, base + dot + n + 1, 1, 64) < 0)
			return -1;
		if (dot)
			j->path[base] = '.';
		utf8_clean(j->path + base + dot, name, raw);
		j->plen = base + dot + n;
		int r = 0;
		if (t == json_type_object) {
			r = flatten(j, v, false);
		} else if (j->nlen + j->plen > MAX_NAMES) {
			errno = E2BIG;
			r = -1;
		} else if (array_grow(&j->names, &j->ncap, j->nlen + j->plen + 1, 1, 64) < 0 ||
		           array_grow(&j->flat, &j->flatcap, j->nflat + 1, sizeof *j->flat, 64) < 0) {
			r = -1;
		} else {
			memcpy(j->names + j->nlen, j->path, j->plen);
			double d = json_object_get_double(v);
			/* -0.0 is 0, as "-0" (an integer to json-c) already is */
			j->flat[j->nflat++] = (struct flat){ j->nlen, j->plen, d == 0 ? 0 : d };
			j->nlen += j->plen;
		}
		j->plen = base;
		if (r < 0)
			return r;
	}
	return 0;
}

/* One parsed object: put its row. */
static int put_object(struct ckptd_jsonl *j, json_object *obj)
{
	int64_t key;
	if (!get_key(j, obj, &key)) {
		j->stats.no_key++;
		return 0;
	}
	j->plen = j->nlen = j->nflat = 0;
	if (flatten(j, obj, true) < 0) {
		if (errno != E2BIG)
			return -1;
		j->stats.bad_lines++;
		return 0;
	}
	if (array_grow(&j->fields, &j->fcap, j->nflat, sizeof *j->fields, 64) < 0)
		return -1;
	for (size_t i = 0; i < j->nflat; i++)
		j->fields[i] = (struct ckptd_field){ j->names + j->flat[i].off, j->flat[i].len,
		                                     j->flat[i].value };
	if (records_put_row(j->out, key, j->fields, j->nflat) < 0)
		return -1;
	j->stats.rows++;
	return 0;
}

/* One complete line, newline excluded. */
static int line(struct ckptd_jsonl *j, const char *s, size_t n)
{
	if (blank(s, n))
		return 0;
	j->stats.lines++;
	json_tokener_reset(j->tok);
	json_object *obj = json_tokener_parse_ex(j->tok, s, (int)n);
	if (!obj || !blank(s + json_tokener_get_parse_end(j->tok),
	                   n - json_tokener_get_parse_end(j->tok)) ||
	    !json_object_is_type(obj, json_type_object)) {
		j->stats.bad_lines++;
		json_object_put(obj);
		return 0;
	}
	int r = put_object(j, obj);
	json_object_put(obj);
	return r;
}

static void too_long(struct ckptd_jsonl *j)
{
	j->stats.long_lines++;
	if (j->opts.warn)
		j->opts.warn(j->opts.warn_arg, j->lineno + 1, "line longer than 1 MiB skipped");
	j->len = 0;
}

/* The bytes after the BOM check. */
static int scan(struct ckptd_jsonl *j, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (j->discard) {
			j->discard = !nl;
		} else if (j->len + take > CKPTD_MAX_LINE) {
			too_long(j);
			j->discard = !nl;
		} else if (nl && j->len == 0) {
			if (line(j, p, take) < 0)   /* whole line in hand: no copy */
				return -1;
		} else {
			if (array_grow(&j->line, &j->cap, j->len + take, 1, 64) < 0)
				return -1;
			memcpy(j->line + j->len, p, take);
			j->len += take;
			if (nl) {
				size_t l = j->len;
				j->len = 0;
				if (line(j, j->line, l) < 0)
					return -1;
			}
		}
		if (!nl)
			return 0;
		j->lineno++;
		p = nl + 1;
		n -= take + 1;
	}
	return 0;
}

static int scan_sink(void *reader, const char *p, size_t n)
{
	return scan(reader, p, n);
}

struct ckptd_jsonl *jsonl_new(const struct ckptd_reader_opts *opts, struct ckptd_records *out)
{
	if (!opts || !opts->key_field || !out) {
		errno = EINVAL;
		return NULL;
	}
	struct ckptd_jsonl *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->key = strdup(opts->key_field);
	j->tok = json_tokener_new();
	if (!j->key || !j->tok) {
		jsonl_free(j);
		errno = ENOMEM;
		return NULL;
	}
	j->opts = *opts;
	j->opts.key_field = j->key;
	j->out = out;
	jsonl_reset(j);
	return j;
}

void jsonl_free(struct ckptd_jsonl *j)
{
	if (!j)
		return;
	if (j->tok)
		json_tokener_free(j->tok);
	free(j->key);
	free(j->line);
	free(j->path);
	free(j->names);
	free(j->flat);
	free(j->fields);
	free(j);
}

int jsonl_feed(struct ckptd_jsonl *j, const char *buf, size_t len)
{
	return bom_feed(&j->bom, buf, len, scan_sink, j);
}

int jsonl_finish(struct ckptd_jsonl *j)
{
	if (bom_finish(&j->bom, scan_sink, j) < 0)
		return -1;
	int r = 0;
	if (!j->discard && j->len > 0)
		r = line(j, j->line, j->len);
	if (j->len > 0 || j->discard)
		j->lineno++;
	j->len = 0;
	j->discard = false;
	return r;
}

void jsonl_reset(struct ckptd_jsonl *j)
{
	j->bom = BOM_START;
	j->discard = false;
	j->lineno = 0;
	j->len = 0;
	memset(&j->stats, 0, sizeof j->stats);
}

const struct ckptd_reader_stats *jsonl_stats(const struct ckptd_jsonl *j)
{
	return &j->stats;
}
