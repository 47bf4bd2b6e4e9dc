/* yamlwalk.c - located, typed access to a libyaml document (see yamlwalk.h). */
#include "ckptd/yamlwalk.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- diagnostics ---- */

static void yw_vadd(struct yw *w, unsigned line, unsigned column,
                    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void yw_vadd(struct yw *w, unsigned line, unsigned column,
                    const char *fmt, va_list ap)
{
	struct ckptd_diags *d = w->diags;
	struct ckptd_diag *v;
	char *msg;

	w->nerr++;
	if (vasprintf(&msg, fmt, ap) < 0)
		return; /* nerr still marks the failure */
	/* A node reached through several aliases reports once. */
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line == line && d->v[i].column == column &&
		    strcmp(d->v[i].message, msg) == 0) {
			free(msg);
			return;
		}
	}
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v) {
		free(msg);
		return;
	}
	d->v = v;
	d->v[d->n++] = (struct ckptd_diag){ line, column, msg };
}

void yw_error_at(struct yw *w, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yw_vadd(w, line, column, fmt, ap);
	va_end(ap);
}

void yw_error(struct yw *w, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* libyaml marks are 0-based */
	yw_vadd(w, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

unsigned yw_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

/* ---- loading ---- */

/* The 1-based place of a byte offset (reader errors carry only that). */
static void yw_offset_place(const char *text, size_t len, size_t off,
                            unsigned *line, unsigned *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			++*line;
			*column = 1;
		} else {
			++*column;
		}
	}
}

static void yw_syntax_error(struct yw *w, const yaml_parser_t *p, const char *text, size_t len)
{
	unsigned line, column;

	if (p->error == YAML_MEMORY_ERROR) {
		yw_error_at(w, 0, 0, "out of memory while parsing");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		yw_offset_place(text, len, p->problem_offset, &line, &column);
		if (p->problem_value != -1)
			yw_error_at(w, line, column, "%s (#%X)", p->problem, (unsigned)p->problem_value);
		else
			yw_error_at(w, line, column, "%s", p->problem ? p->problem : "cannot read");
		return;
	}
	line = (unsigned)p->problem_mark.line + 1;
	column = (unsigned)p->problem_mark.column + 1;
	if (p->context)
		yw_error_at(w, line, column, "%s (%s at line %zu, column %zu)",
		            p->problem ? p->problem : "syntax error", p->context,
		            p->context_mark.line + 1, p->context_mark.column + 1);
	else
		yw_error_at(w, line, column, "%s", p->problem ? p->problem : "syntax error");
}

/* Walk the events once before building the document: libyaml takes
 * quadratic time in the nesting depth, so stop early at YW_MAX_DEPTH,
 * and catch syntax errors and extra documents here. */
static int yw_scan(struct yw *w, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		yw_error_at(w, 0, 0, "out of memory while parsing");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			yw_syntax_error(w, &p, text, len);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YW_MAX_DEPTH) {
				yw_error_at(w, (unsigned)ev.start_mark.line + 1,
				            (unsigned)ev.start_mark.column + 1,
				            "nesting deeper than %d levels", YW_MAX_DEPTH);
				rc = -1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				yw_error_at(w, (unsigned)ev.start_mark.line + 1,
				            (unsigned)ev.start_mark.column + 1,
				            "only one YAML document is allowed in a config file");
				rc = -1;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

struct yw_shape {
	struct yw *w;
	unsigned char *seen;
	unsigned long revisits;
};

/* Aliases make the document a graph: a cycle (an alias inside its own
 * anchor) has no end and nested aliases expand exponentially ("billion
 * laughs").  Bound the depth and the visits of nodes seen before. */
static int yw_shape_walk(struct yw_shape *s, int id, int depth)
{
	yaml_node_t *n = yaml_document_get_node(&s->w->doc, id);

	if (!n)
		return 0;
	if (depth > YW_MAX_DEPTH && n->type != YAML_SCALAR_NODE) {
		yw_error(s->w, n, "nesting deeper than %d levels (an alias inside its own anchor?)",
		         YW_MAX_DEPTH);
		return -1;
	}
	if (s->seen[id - 1] && ++s->revisits > YW_MAX_ALIAS_VISITS) {
		yw_error(s->w, n, "aliases expand to more than %d nodes; refusing what looks like an alias bomb",
		         YW_MAX_ALIAS_VISITS);
		return -1;
	}
	s->seen[id - 1] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (yw_shape_walk(s, *it, depth + 1) < 0)
				return -1;
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++)
			if (yw_shape_walk(s, pr->key, depth + 1) < 0 ||
			    yw_shape_walk(s, pr->value, depth + 1) < 0)
				return -1;
	}
	return 0;
}

int yw_load(struct yw *w, const char *text, size_t len, struct ckptd_diags *diags)
{
	yaml_parser_t p;
	struct yw_shape s = { w, NULL, 0 };
	size_t nnodes;
	int rc;

	memset(w, 0, sizeof(*w));
	w->diags = diags;
	if (yw_scan(w, text, len) < 0)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		yw_error_at(w, 0, 0, "out of memory while parsing");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &w->doc)) {
		yw_syntax_error(w, &p, text, len);
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_parser_delete(&p);
	w->loaded = true;
	nnodes = (size_t)(w->doc.nodes.top - w->doc.nodes.start);
	if (nnodes == 0)
		return 0;
	s.seen = calloc(nnodes, 1);
	if (!s.seen) {
		yw_error_at(w, 0, 0, "out of memory");
		return -1;
	}
	rc = yw_shape_walk(&s, 1, 0);
	free(s.seen);
	return rc;
}

void yw_free(struct yw *w)
{
	if (w->loaded)
		yaml_document_delete(&w->doc);
	w->loaded = false;
}

const yaml_node_t *yw_root(struct yw *w)
{
	return w->loaded ? yaml_document_get_root_node(&w->doc) : NULL;
}

/* ---- kinds ---- */

bool yw_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

const char *yw_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return yw_is_null(n) ? "null" : "a string";
	}
}

static const char *yw_value(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* ---- did you mean ---- */

/* Optimal string alignment distance (Levenshtein plus transpositions),
 * capped: names are short. */
static size_t yw_distance(const char *a, const char *b)
{
	enum { MAXLEN = 32 };
	size_t la = strlen(a), lb = strlen(b);
	size_t d[MAXLEN + 1][MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *yw_closest(const char *word, const char *const *names)
{
	size_t len = strlen(word);
	/* a short word is "close" to almost anything: demand more of it */
	size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	size_t best = SIZE_MAX;
	const char *pick = NULL;

	for (; *names; names++) {
		size_t dist = yw_distance(word, *names);

		if (dist <= limit && dist < best) {
			best = dist;
			pick = *names;
		}
	}
	return pick;
}

/* ---- mappings ---- */

static int yw_name_index(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

static bool yw_is_merge_key(const yaml_node_t *k)
{
	return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       !strcmp(yw_value(k), "<<");
}

static void yw_map_add(struct yw *w, struct yw_map *m, const yaml_node_t *map,
                       const char *what, bool merged);

/* `<<: *anchor` or `<<: [*a, *b]`: keys not given explicitly come from
 * the merged mappings, the first one listed winning (YAML merge key). */
static void yw_map_merge(struct yw *w, struct yw_map *m, const yaml_node_t *v, const char *what)
{
	if (v->type == YAML_MAPPING_NODE) {
		yw_map_add(w, m, v, what, true);
		return;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			const yaml_node_t *item = yaml_document_get_node(&w->doc, *it);

			if (item->type == YAML_MAPPING_NODE)
				yw_map_add(w, m, item, what, true);
			else
				yw_error(w, item, "'<<' merges mappings, got %s", yw_kind(item));
		}
		return;
	}
	yw_error(w, v, "'<<' merges a mapping or a list of mappings, got %s", yw_kind(v));
}

static void yw_map_add(struct yw *w, struct yw_map *m, const yaml_node_t *map,
                       const char *what, bool merged)
{
	const yaml_node_t *first[YW_MAX_KEYS] = { NULL }; /* in this mapping */

	/* explicit keys first: they override merged ones wherever they stand */
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = yaml_document_get_node(&w->doc, pr->key);
		const yaml_node_t *v = yaml_document_get_node(&w->doc, pr->value);
		const char *hint;
		int i;

		if (k->type != YAML_SCALAR_NODE) {
			yw_error(w, k, "keys of %s must be names, got %s", what, yw_kind(k));
			continue;
		}
		if (yw_is_merge_key(k))
			continue;
		i = yw_name_index(m->names, yw_value(k));
		if (i < 0) {
			hint = yw_closest(yw_value(k), m->names);
			if (hint)
				yw_error(w, k, "unknown key '%s' in %s (did you mean '%s'?)",
				         yw_value(k), what, hint);
			else
				yw_error(w, k, "unknown key '%s' in %s", yw_value(k), what);
			continue;
		}
		if (first[i]) {
			yw_error(w, k, "duplicate key '%s' in %s (first at line %u)",
			         yw_value(k), what, yw_line(first[i]));
			continue;
		}
		first[i] = k;
		if (merged && m->key[i])
			continue;
		m->key[i] = k;
		m->val[i] = v;
	}
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = yaml_document_get_node(&w->doc, pr->key);

		if (yw_is_merge_key(k))
			yw_map_merge(w, m, yaml_document_get_node(&w->doc, pr->value), what);
	}
}

int yw_map_open(struct yw *w, const yaml_node_t *n, const char *what,
                const char *const *names, struct yw_map *m)
{
	memset(m, 0, sizeof(*m));
	m->node = n;
	m->names = names;
	if (n->type != YAML_MAPPING_NODE) {
		yw_error(w, n, "%s must be a mapping, got %s", what, yw_kind(n));
		return -1;
	}
	yw_map_add(w, m, n, what, false);
	return 0;
}

const yaml_node_t *yw_map_get(const struct yw_map *m, const char *name)
{
	int i = yw_name_index(m->names, name);

	return i < 0 ? NULL : m->val[i];
}

const yaml_node_t *yw_map_key(const struct yw_map *m, const char *name)
{
	int i = yw_name_index(m->names, name);

	return i < 0 ? NULL : m->key[i];
}

const yaml_node_t *yw_map_need(struct yw *w, const struct yw_map *m,
                               const char *name, const char *what)
{
	const yaml_node_t *v = yw_map_get(m, name);

	if (!v)
		yw_error(w, m->node, "missing required key '%s' in %s", name, what);
	return v;
}

/* ---- lists ---- */

long yw_seq(struct yw *w, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		yw_error(w, n, "%s must be a list, got %s", what, yw_kind(n));
		return -1;
	}
	return (long)(n->data.sequence.items.top - n->data.sequence.items.start);
}

const yaml_node_t *yw_seq_item(struct yw *w, const yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(&w->doc, n->data.sequence.items.start[i]);
}

/* ---- scalars ---- */

/* A non-null scalar's text, or NULL after a report. */
static const char *yw_scalar(struct yw *w, const yaml_node_t *n, const char *what,
                             const char *expected)
{
	if (n->type != YAML_SCALAR_NODE || yw_is_null(n)) {
		yw_error(w, n, "%s must be %s, got %s", what, expected, yw_kind(n));
		return NULL;
	}
	if (strlen(yw_value(n)) != n->data.scalar.length) {
		yw_error(w, n, "%s contains a NUL character", what);
		return NULL;
	}
	return yw_value(n);
}

int yw_string(struct yw *w, const yaml_node_t *n, const char *what, char **out)
{
	const char *v = yw_scalar(w, n, what, "a string");
	char *s;

	if (!v)
		return -1;
	s = strdup(v);
	if (!s) {
		yw_error(w, n, "out of memory");
		return -1;
	}
	free(*out);
	*out = s;
	return 0;
}

/* Numbers come from plain scalars: a quoted "3" is a string in YAML. */
static const char *yw_numeric(struct yw *w, const yaml_node_t *n, const char *what,
                              const char *expected)
{
	const char *v = yw_scalar(w, n, what, expected);

	if (v && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		yw_error(w, n, "%s must be %s, got the quoted string \"%s\"", what, expected, v);
		return NULL;
	}
	return v;
}

int yw_int(struct yw *w, const yaml_node_t *n, const char *what,
           int64_t lo, int64_t hi, int64_t *out)
{
	const char *v = yw_numeric(w, n, what, "an integer");
	char *end;
	long long x;

	if (!v)
		return -1;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (end == v || *end || !(*v == '-' || *v == '+' || (*v >= '0' && *v <= '9'))) {
		yw_error(w, n, "%s must be an integer, got '%s'", what, v);
		return -1;
	}
	if (errno == ERANGE || x < lo || x > hi) {
		if (hi == INT64_MAX)
			yw_error(w, n, "%s must be >= %" PRId64 ", got %s", what, lo, v);
		else
			yw_error(w, n, "%s must be between %" PRId64 " and %" PRId64 ", got %s",
			         what, lo, hi, v);
		return -1;
	}
	*out = x;
	return 0;
}

int yw_number(struct yw *w, const yaml_node_t *n, const char *what,
              double lo, double hi, double *out)
{
	const char *v = yw_numeric(w, n, what, "a number");
	char *end;
	double x;

	if (!v)
		return -1;
	errno = 0;
	x = strtod(v, &end);
	/* strtod also takes hex, "nan", "inf" and leading blanks: a config
	 * number is decimal and finite */
	if (end == v || *end || strpbrk(v, "xXnN") || *v == ' ' || *v == '\t') {
		yw_error(w, n, "%s must be a finite number, got '%s'", what, v);
		return -1;
	}
	if (!isfinite(x) || x < lo || x > hi) {
		if (isinf(lo) && isinf(hi))
			yw_error(w, n, "%s is out of range, got %s", what, v);
		else if (isinf(hi))
			yw_error(w, n, "%s must be >= %g, got %s", what, lo, v);
		else
			yw_error(w, n, "%s must be between %g and %g, got %s", what, lo, hi, v);
		return -1;
	}
	*out = x;
	return 0;
}

int yw_bool(struct yw *w, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const names[] = { "false", "False", "FALSE", "true", "True", "TRUE", NULL };
	const char *v = yw_numeric(w, n, what, "true or false");
	int i;

	if (!v)
		return -1;
	i = yw_name_index(names, v);
	if (i < 0) {
		yw_error(w, n, "%s must be true or false, got '%s'", what, v);
		return -1;
	}
	*out = i >= 3;
	return 0;
}

int yw_enum(struct yw *w, const yaml_node_t *n, const char *what,
            const char *const *names, int *out)
{
	char list[256] = "";
	const char *v = yw_scalar(w, n, what, "a string");
	int i;

	if (!v)
		return -1;
	i = yw_name_index(names, v);
	if (i >= 0) {
		*out = i;
		return 0;
	}
	for (const char *const *p = names; *p; p++) {
		if (*list)
			strncat(list, p[1] ? ", " : " or ", sizeof(list) - strlen(list) - 1);
		strncat(list, *p, sizeof(list) - strlen(list) - 1);
	}
	yw_error(w, n, "%s must be %s, got '%s'", what, list, v);
	return -1;
}
