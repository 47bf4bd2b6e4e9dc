/* yamlwalk.h - located, typed access to a libyaml document.
 *
 * config.c describes the schema; this module knows YAML: loading with a
 * nesting bound, the alias-bomb guard, scalars as typed values, mappings
 * checked against their known keys (duplicates, unknown keys with a
 * "did you mean" hint, << merge keys), and every problem recorded as a
 * diag at the 1-based place of the node it concerns.  Each checker
 * reports and returns -1, so the caller just goes on to the next key:
 * all problems of a file come out in one pass. */
#ifndef CKPTD_YAMLWALK_H
#define CKPTD_YAMLWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "ckptd/config.h"

#define YW_MAX_DEPTH 64            /* deeper nesting is refused */
#define YW_MAX_ALIAS_VISITS 100000 /* node visits through aliases */
#define YW_MAX_KEYS 16             /* known keys of one mapping */

struct yw {
	yaml_document_t doc;
	bool loaded;                 /* doc must be deleted */
	struct ckptd_diags *diags;
	unsigned nerr;
};

struct yw_map {
	const yaml_node_t *node;
	const char *const *names;    /* NULL-terminated known keys */
	const yaml_node_t *key[YW_MAX_KEYS], *val[YW_MAX_KEYS];
};

/* Parse text (one document).  0; -1 after one diag (syntax error, too
 * deep, alias bomb, empty, more than one document, no memory). */
int yw_load(struct yw *w, const char *text, size_t len, struct ckptd_diags *diags);
void yw_free(struct yw *w);
/* The root node, NULL for an empty stream. */
const yaml_node_t *yw_root(struct yw *w);

void yw_error(struct yw *w, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void yw_error_at(struct yw *w, unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
unsigned yw_line(const yaml_node_t *n);

bool yw_is_null(const yaml_node_t *n);
/* "a string", "a list", "a mapping", "null", for "expected X, got Y". */
const char *yw_kind(const yaml_node_t *n);

/* Check that n is a mapping whose keys are among names (unknown keys and
 * duplicates are reported, the mapping is still used) and index it. */
int yw_map_open(struct yw *w, const yaml_node_t *n, const char *what,
                const char *const *names, struct yw_map *m);
const yaml_node_t *yw_map_get(const struct yw_map *m, const char *name);
const yaml_node_t *yw_map_key(const struct yw_map *m, const char *name);
/* The value of a required key; reports at the mapping when missing. */
const yaml_node_t *yw_map_need(struct yw *w, const struct yw_map *m,
                               const char *name, const char *what);

/* A list: its length, or -1 after a report. */
long yw_seq(struct yw *w, const yaml_node_t *n, const char *what);
const yaml_node_t *yw_seq_item(struct yw *w, const yaml_node_t *n, size_t i);

/* Typed scalars.  Each returns 0, or -1 after reporting at n. */
int yw_string(struct yw *w, const yaml_node_t *n, const char *what, char **out);
int yw_int(struct yw *w, const yaml_node_t *n, const char *what,
           int64_t lo, int64_t hi, int64_t *out);
/* Finite numbers only; lo/hi may be -HUGE_VAL/HUGE_VAL. */
int yw_number(struct yw *w, const yaml_node_t *n, const char *what,
              double lo, double hi, double *out);
int yw_bool(struct yw *w, const yaml_node_t *n, const char *what, bool *out);
/* One of names (NULL-terminated); *out is its index. */
int yw_enum(struct yw *w, const yaml_node_t *n, const char *what,
            const char *const *names, int *out);

/* The name among names closest to word, or NULL when none is close. */
const char *yw_closest(const char *word, const char *const *names);

#endif
