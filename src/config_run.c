/* config_run.c - the keys of one run (metrics, checkpoints, select,
 * early_stop, promote, retain, alerts): types, ranges, defaults, paths
 * resolved against the run's dir.  config.c does the file, the top level
 * and each run's name and dir. */
#include "ckptd/config_run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/pattern.h"

static const char *const cfg_modes[] = { "min", "max", NULL };

/* ---- paths and names ---- */

/* p resolved against dir when relative, then cleaned lexically: no "//",
 * no "." or ".." components, no trailing '/'. */
char *cfg_clean_path(const char *dir, const char *p)
{
	size_t n = (dir ? strlen(dir) : 0) + strlen(p) + 3, o = 0;
	char *in = malloc(n), *out = malloc(n), *save = NULL;

	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	snprintf(in, n, "%s/%s", p[0] == '/' || !dir ? "" : dir, p);
	for (char *t = strtok_r(in, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		size_t len = strlen(t);

		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, t, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

/* A path, relative ones resolved against dir (NULL while dir is bad). */
static int cfg_path(struct cfg *c, const yaml_node_t *n, const char *what,
                    const char *dir, char **out)
{
	char *s = NULL, *p;

	if (yw_string(&c->w, n, what, &s) < 0)
		return -1;
	if (!*s) {
		yw_error(&c->w, n, "%s must not be empty", what);
		free(s);
		return -1;
	}
	p = cfg_clean_path(dir, s);
	free(s);
	if (!p) {
		yw_error(&c->w, n, "out of memory");
		return -1;
	}
	free(*out);
	*out = p;
	return 0;
}

/* A file name inside a directory we manage: no '/' in it. */
static int cfg_bare_name(struct cfg *c, const yaml_node_t *n, const char *what, char **out)
{
	char *s = NULL;

	if (yw_string(&c->w, n, what, &s) < 0)
		return -1;
	if (!*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..")) {
		yw_error(&c->w, n, "%s must be a plain file name without '/', got '%s'", what, s);
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
	return 0;
}

/* ---- small typed helpers over a mapping ---- */

static void cfg_int(struct cfg *c, const struct yw_map *m, const char *key,
                    int64_t lo, int64_t hi, int64_t *out)
{
	const yaml_node_t *v = yw_map_get(m, key);

	if (v)
		yw_int(&c->w, v, key, lo, hi, out);
}

static void cfg_number(struct cfg *c, const struct yw_map *m, const char *key,
                       double lo, double *out)
{
	const yaml_node_t *v = yw_map_get(m, key);

	if (v)
		yw_number(&c->w, v, key, lo, HUGE_VAL, out);
}

/* A number where null means "not set". */
static void cfg_opt_number(struct cfg *c, const struct yw_map *m, const char *key,
                           bool *has, double *out)
{
	const yaml_node_t *v = yw_map_get(m, key);

	*has = v && !yw_is_null(v) && yw_number(&c->w, v, key, -HUGE_VAL, HUGE_VAL, out) == 0;
}

static void cfg_enum(struct cfg *c, const struct yw_map *m, const char *key,
                     const char *const *names, int *out)
{
	const yaml_node_t *v = yw_map_get(m, key);

	if (v)
		yw_enum(&c->w, v, key, names, out);
}

/* `mode`, or inferred from the metric's name. */
static void cfg_mode(struct cfg *c, const struct yw_map *m, const char *metric,
                     enum ckptd_mode *out)
{
	const yaml_node_t *v = yw_map_get(m, "mode");
	int i;

	if (v) {
		if (yw_enum(&c->w, v, "mode", cfg_modes, &i) == 0)
			*out = (enum ckptd_mode)i;
		return;
	}
	if (metric && !mode_infer(metric, out))
		yw_error(&c->w, yw_map_get(m, "metric"),
		         "cannot tell whether '%s' is better low or high: add mode: min or mode: max",
		         metric);
}

static void cfg_metric(struct cfg *c, const struct yw_map *m, const char *what, char **out)
{
	const yaml_node_t *v = yw_map_need(&c->w, m, "metric", what);

	if (v && yw_string(&c->w, v, "metric", out) == 0 && !**out) {
		yw_error(&c->w, v, "metric must not be empty");
		free(*out);
		*out = NULL;
	}
}

int cfg_duration(struct cfg *c, const yaml_node_t *n, const char *what, int64_t *ms)
{
	char *s = NULL;
	int rc = 0;

	if (yw_string(&c->w, n, what, &s) < 0)
		return -1;
	if (duration_parse(s, ms) < 0) {
		if (strspn(s, "0123456789") == strlen(s))
			yw_error(&c->w, n, "%s needs a unit (ms, s, m, h or d): write e.g. '%ss'", what, s);
		else
			yw_error(&c->w, n, "%s must be a duration like 500ms, 30s, 5m, 2h or 1h30m, got '%s'",
			         what, s);
		rc = -1;
	}
	free(s);
	return rc;
}

/* argv for posix_spawn: a non-empty list of strings, NULL-terminated. */
static void cfg_exec(struct cfg *c, const yaml_node_t *n, char ***argv, size_t *argc)
{
	long len = yw_seq(&c->w, n, "exec");

	if (len < 0)
		return;
	if (len == 0) {
		yw_error(&c->w, n, "exec must not be empty: give the program and its arguments");
		return;
	}
	*argv = calloc((size_t)len + 1, sizeof(**argv));
	if (!*argv) {
		yw_error(&c->w, n, "out of memory");
		return;
	}
	*argc = (size_t)len;
	for (long i = 0; i < len; i++) {
		const yaml_node_t *item = yw_seq_item(&c->w, n, (size_t)i);

		if (yw_string(&c->w, item, "an exec argument", &(*argv)[i]) == 0 && i == 0 &&
		    !*(*argv)[0])
			yw_error(&c->w, item, "exec: the program name must not be empty");
	}
}

/* ---- metrics, checkpoints ---- */

static bool cfg_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static void cfg_metrics(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = { "path", "format", "key", "key_offset", NULL };
	static const char *const formats[] = { "auto", "csv", "tsv", "jsonl", NULL };
	static const enum ckptd_format fmts[] = {
		CKPTD_FMT_AUTO, CKPTD_FMT_CSV, CKPTD_FMT_TSV, CKPTD_FMT_JSONL
	};
	static const char *const key_names[] = { "epoch", "step", NULL };
	struct yw_map m;
	const yaml_node_t *v;
	int fmt = 0, key = 0;

	if (yw_map_open(&c->w, n, "metrics", keys, &m) < 0)
		return;
	v = yw_map_need(&c->w, &m, "path", "metrics");
	if (v)
		cfg_path(c, v, "metrics.path", r->dir, &r->metrics.path);
	cfg_enum(c, &m, "format", formats, &fmt);
	cfg_enum(c, &m, "key", key_names, &key);
	r->metrics.key = (enum ckptd_key)key;
	cfg_int(c, &m, "key_offset", INT32_MIN, INT32_MAX, &r->metrics.key_offset);

	r->metrics.format = fmts[fmt];
	if (!r->metrics.path)
		return;
	/* auto: by extension; a name that says nothing is read as csv */
	if (r->metrics.format == CKPTD_FMT_AUTO &&
	    metrics_format_from_name(r->metrics.path, &r->metrics.format, &r->metrics.zst) == 0 &&
	    r->metrics.format != CKPTD_FMT_AUTO)
		return;
	if (r->metrics.format == CKPTD_FMT_AUTO)
		r->metrics.format = CKPTD_FMT_CSV;
	r->metrics.zst = cfg_ends_with(r->metrics.path, ".zst");
}

static void cfg_ready(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	char *s = NULL;

	if (yw_string(&c->w, n, "ready", &s) < 0)
		return;
	if (!strcmp(s, "close")) {
		r->checkpoints.ready = CKPTD_READY_CLOSE;
	} else if (!strncmp(s, "marker:", 7)) {
		const char *name = s + 7;

		if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			yw_error(&c->w, n, "ready: marker:NAME needs a plain file name, got '%s'", s);
		else if (!(r->checkpoints.marker = strdup(name)))
			yw_error(&c->w, n, "out of memory");
		r->checkpoints.ready = CKPTD_READY_MARKER;
	} else if (!strncmp(s, "settle:", 7)) {
		if (duration_parse(s + 7, &r->checkpoints.settle_ms) < 0)
			yw_error(&c->w, n, "ready: settle:DURATION needs a duration like 5s or 2m, got '%s'",
			         s + 7);
		r->checkpoints.ready = CKPTD_READY_SETTLE;
	} else {
		yw_error(&c->w, n, "ready must be close, marker:NAME or settle:DURATION, got '%s'", s);
	}
	free(s);
}

/* Returns the pattern's node, for problems of names it would match. */
static const yaml_node_t *cfg_checkpoints(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = { "path", "pattern", "ready", "verify", NULL };
	static const char *const verify[] = { "none", "auto", NULL };
	struct yw_map m;
	const yaml_node_t *v, *pat;
	char err[256];
	int ver = 1;

	if (yw_map_open(&c->w, n, "checkpoints", keys, &m) < 0)
		return NULL;
	if ((v = yw_map_get(&m, "path")))
		cfg_path(c, v, "checkpoints.path", r->dir, &r->checkpoints.path);
	if ((pat = yw_map_need(&c->w, &m, "pattern", "checkpoints")) &&
	    yw_string(&c->w, pat, "pattern", &r->checkpoints.pattern) == 0 &&
	    pattern_check(r->checkpoints.pattern, r->metrics.key, err, sizeof(err)) < 0)
		yw_error(&c->w, pat, "%s", err);
	if ((v = yw_map_get(&m, "ready")))
		cfg_ready(c, v, r);
	cfg_enum(c, &m, "verify", verify, &ver);
	r->checkpoints.verify = ver == 1;
	return pat;
}

/* ---- select ---- */

static void cfg_criterion(struct cfg *c, const yaml_node_t *n, struct ckptd_criterion *cr)
{
	static const char *const keys[] = { "metric", "mode", "tolerance", NULL };
	struct yw_map m;
	char err[256];

	if (n->type == YAML_SCALAR_NODE && !yw_is_null(n)) {
		char *s = NULL;

		/* shorthand "val_loss:min@0.005", as ckptctl pick --by */
		if (yw_string(&c->w, n, "a by entry", &s) == 0 &&
		    criterion_parse(s, cr, err, sizeof(err)) < 0)
			yw_error(&c->w, n, "by: %s", err);
		free(s);
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		yw_error(&c->w, n, "a by entry must be a mapping {metric, mode, tolerance} or "
		         "METRIC[:min|max][@TOL], got %s", yw_kind(n));
		return;
	}
	yw_map_open(&c->w, n, "a by entry", keys, &m);
	cfg_metric(c, &m, "a by entry", &cr->metric);
	cfg_mode(c, &m, cr->metric, &cr->mode);
	cfg_number(c, &m, "tolerance", 0, &cr->tolerance);
}

static void cfg_bound(struct cfg *c, const yaml_node_t *n, struct ckptd_bound *b)
{
	static const char *const keys[] = { "metric", "min", "max", NULL };
	struct yw_map m;
	char err[256];

	if (n->type == YAML_SCALAR_NODE && !yw_is_null(n)) {
		char *s = NULL;

		if (yw_string(&c->w, n, "a require entry", &s) == 0 &&
		    bound_parse(s, b, err, sizeof(err)) < 0)
			yw_error(&c->w, n, "require: %s", err);
		free(s);
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		yw_error(&c->w, n, "a require entry must be a mapping {metric, min, max} or "
		         "METRIC>=X / METRIC<=X, got %s", yw_kind(n));
		return;
	}
	yw_map_open(&c->w, n, "a require entry", keys, &m);
	cfg_metric(c, &m, "a require entry", &b->metric);
	cfg_opt_number(c, &m, "min", &b->has_min, &b->min);
	cfg_opt_number(c, &m, "max", &b->has_max, &b->max);
	if (!yw_map_get(&m, "min") && !yw_map_get(&m, "max"))
		yw_error(&c->w, n, "a require entry needs min, max or both");
	else if (b->has_min && b->has_max && b->min > b->max)
		yw_error(&c->w, yw_map_get(&m, "min"),
		         "min %g is above max %g: no record could pass", b->min, b->max);
}

static int cfg_default_by(struct ckptd_select *s)
{
	s->by = calloc(1, sizeof(*s->by));
	if (!s->by || !(s->by->metric = strdup("val_loss")))
		return -1;
	s->by->mode = CKPTD_MIN;
	s->nby = 1;
	return 0;
}

static void cfg_select(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = { "by", "require", NULL };
	struct ckptd_select *s = &r->select;
	struct yw_map m;
	const yaml_node_t *v;
	long len;

	if (n && !yw_is_null(n) && yw_map_open(&c->w, n, "select", keys, &m) == 0) {
		if ((v = yw_map_get(&m, "by")) && (len = yw_seq(&c->w, v, "by")) >= 0) {
			if (len == 0)
				yw_error(&c->w, v, "by must list at least one criterion");
			else if (!(s->by = calloc((size_t)len, sizeof(*s->by))))
				yw_error(&c->w, v, "out of memory");
			else
				s->nby = (size_t)len;
			for (size_t i = 0; i < s->nby; i++)
				cfg_criterion(c, yw_seq_item(&c->w, v, i), &s->by[i]);
		}
		if ((v = yw_map_get(&m, "require")) && (len = yw_seq(&c->w, v, "require")) > 0) {
			if (!(s->require = calloc((size_t)len, sizeof(*s->require))))
				yw_error(&c->w, v, "out of memory");
			else
				s->nrequire = (size_t)len;
			for (size_t i = 0; i < s->nrequire; i++)
				cfg_bound(c, yw_seq_item(&c->w, v, i), &s->require[i]);
		}
	}
	if (!s->by && cfg_default_by(s) < 0)
		yw_error_at(&c->w, 0, 0, "out of memory");
}

/* ---- early_stop ---- */

static void cfg_signal(struct cfg *c, const yaml_node_t *n, int *sig)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP }, { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	};
	char *s = NULL;
	const char *name;
	char *end;
	long x;

	if (yw_string(&c->w, n, "signal", &s) < 0)
		return;
	x = strtol(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end) {
		if (x >= 1 && x <= 64)
			*sig = (int)x;
		else
			yw_error(&c->w, n, "signal must be between 1 and 64, got %s", s);
		free(s);
		return;
	}
	name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*sig = names[i].sig;
			free(s);
			return;
		}
	}
	yw_error(&c->w, n, "signal must be TERM, INT, HUP, QUIT, KILL, USR1, USR2 "
	         "(SIG prefix optional) or a number 1..64, got '%s'", s);
	free(s);
}

static void cfg_stop_action(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = { "touch", "signal", "pidfile", "exec", NULL };
	struct ckptd_early_stop *es = &r->early_stop;
	struct yw_map m;
	const yaml_node_t *v;

	if (yw_is_null(n) || yw_map_open(&c->w, n, "action", keys, &m) < 0)
		return;
	if ((v = yw_map_get(&m, "touch")))
		cfg_path(c, v, "touch", r->dir, &es->touch);
	if ((v = yw_map_get(&m, "pidfile")))
		cfg_path(c, v, "pidfile", r->dir, &es->pidfile);
	if ((v = yw_map_get(&m, "signal"))) {
		cfg_signal(c, v, &es->signal);
		if (!yw_map_get(&m, "pidfile"))
			yw_error(&c->w, v, "signal needs a pidfile: the file that holds the training job's pid");
	}
	if ((v = yw_map_get(&m, "exec")))
		cfg_exec(c, v, &es->exec, &es->nexec);
}

static void cfg_early_stop(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = {
		"metric", "mode", "patience", "min_delta", "baseline", "stopping_threshold",
		"divergence_threshold", "check_finite", "start_from", "action", NULL
	};
	struct ckptd_early_stop *es = &r->early_stop;
	struct yw_map m;
	const yaml_node_t *v;

	if (yw_map_open(&c->w, n, "early_stop", keys, &m) < 0)
		return;
	es->enabled = true;
	cfg_metric(c, &m, "early_stop", &es->metric);
	cfg_mode(c, &m, es->metric, &es->mode);
	cfg_int(c, &m, "patience", 0, INT32_MAX, &es->patience);
	cfg_number(c, &m, "min_delta", 0, &es->min_delta);
	cfg_opt_number(c, &m, "baseline", &es->has_baseline, &es->baseline);
	cfg_opt_number(c, &m, "stopping_threshold", &es->has_stopping_threshold,
	               &es->stopping_threshold);
	cfg_opt_number(c, &m, "divergence_threshold", &es->has_divergence_threshold,
	               &es->divergence_threshold);
	if ((v = yw_map_get(&m, "check_finite")))
		yw_bool(&c->w, v, "check_finite", &es->check_finite);
	cfg_int(c, &m, "start_from", 0, INT64_MAX, &es->start_from);
	if ((v = yw_map_get(&m, "action")))
		cfg_stop_action(c, v, r);
}

/* ---- promote, retain ---- */

/* promote.link/manifest live in the checkpoints dir: a name the pattern
 * matches would be taken for a checkpoint itself. */
static void cfg_not_checkpoint(struct cfg *c, const struct ckptd_run *r, const char *name,
                               const yaml_node_t *at, const yaml_node_t *pattern_at,
                               const char *what)
{
	int64_t k;

	if (!name || !r->checkpoints.pattern ||
	    !pattern_match(r->checkpoints.pattern, r->metrics.key, name, &k))
		return;
	if (at)
		yw_error(&c->w, at, "%s '%s' matches the checkpoint pattern '%s': it would be "
		         "taken for a checkpoint", what, name, r->checkpoints.pattern);
	else if (pattern_at)
		yw_error(&c->w, pattern_at, "the default %s '%s' matches this pattern: set %s to "
		         "another name", what, name, what);
}

static void cfg_promote(struct cfg *c, const yaml_node_t *n, const yaml_node_t *pattern_at,
                        struct ckptd_run *r)
{
	static const char *const keys[] = { "link", "method", "to", "manifest", NULL };
	static const char *const methods[] = { "symlink", "hardlink", "copy", NULL };
	struct ckptd_promote *p = &r->promote;
	const yaml_node_t *link_at = NULL, *manifest_at = NULL, *v;
	struct yw_map m;
	int method = 0;

	if (!(p->link = strdup("best.ckpt")) || !(p->manifest = strdup("best.json"))) {
		yw_error_at(&c->w, 0, 0, "out of memory");
		return;
	}
	if (n && !yw_is_null(n) && yw_map_open(&c->w, n, "promote", keys, &m) == 0) {
		if ((link_at = yw_map_get(&m, "link")))
			cfg_bare_name(c, link_at, "promote.link", &p->link);
		if ((manifest_at = yw_map_get(&m, "manifest")) && yw_is_null(manifest_at)) {
			free(p->manifest);
			p->manifest = NULL; /* manifest: null disables it */
		} else if (manifest_at) {
			cfg_bare_name(c, manifest_at, "promote.manifest", &p->manifest);
		}
		if ((v = yw_map_get(&m, "to")) && !yw_is_null(v))
			cfg_path(c, v, "promote.to", r->dir, &p->to);
		cfg_enum(c, &m, "method", methods, &method);
		p->method = (enum ckptd_promote_method)method;
		if (p->method == CKPTD_PROMOTE_COPY && !p->to && (v = yw_map_get(&m, "method")))
			yw_error(&c->w, v, "method copy needs 'to': the directory the copy goes to");
	}
	cfg_not_checkpoint(c, r, p->link, link_at, pattern_at, "promote.link");
	cfg_not_checkpoint(c, r, p->manifest, manifest_at, pattern_at, "promote.manifest");
	if (p->manifest && !strcmp(p->manifest, p->link))
		yw_error(&c->w, manifest_at ? manifest_at : link_at ? link_at : n,
		         "promote.manifest and promote.link are both '%s'", p->link);
}

static void cfg_retain(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = {
		"best", "last", "every", "unscored", "action", "archive", "level", NULL
	};
	static const char *const unscored[] = { "keep", "prune", NULL };
	static const char *const actions[] = { "none", "delete", "compress", "move", NULL };
	struct ckptd_retain *rt = &r->retain;
	struct yw_map m;
	const yaml_node_t *v;
	int un = 0, action = 0;
	int64_t level = 3;

	if (!n || yw_is_null(n) || yw_map_open(&c->w, n, "retain", keys, &m) < 0)
		return;
	rt->enabled = true;
	cfg_int(c, &m, "best", 0, INT32_MAX, &rt->best);
	cfg_int(c, &m, "last", 0, INT32_MAX, &rt->last);
	cfg_int(c, &m, "every", 0, INT32_MAX, &rt->every);
	cfg_enum(c, &m, "unscored", unscored, &un);
	rt->unscored_prune = un == 1;
	cfg_enum(c, &m, "action", actions, &action);
	rt->action = (enum ckptd_retain_action)action;
	if ((v = yw_map_get(&m, "archive")))
		cfg_path(c, v, "retain.archive", r->dir, &rt->archive);
	cfg_int(c, &m, "level", 1, 19, &level);
	rt->level = (int)level;
}

/* ---- alerts ---- */

static void cfg_degrade(struct cfg *c, const yaml_node_t *n, struct ckptd_degrade *d)
{
	static const char *const keys[] = { "metric", "mode", "after", "by", "train_metric", NULL };
	struct yw_map m;
	const yaml_node_t *v;

	if (yw_is_null(n) || yw_map_open(&c->w, n, "degrade", keys, &m) < 0)
		return;
	d->enabled = true;
	cfg_metric(c, &m, "degrade", &d->metric);
	cfg_mode(c, &m, d->metric, &d->mode);
	cfg_int(c, &m, "after", 1, INT32_MAX, &d->after);
	cfg_number(c, &m, "by", 0, &d->by);
	if ((v = yw_map_get(&m, "train_metric")) && !yw_is_null(v) &&
	    yw_string(&c->w, v, "train_metric", &d->train_metric) == 0 &&
	    !mode_infer(d->train_metric, &d->train_mode))
		d->train_mode = d->mode; /* only names a trend: no need to insist */
}

static void cfg_alerts(struct cfg *c, const yaml_node_t *n, struct ckptd_run *r)
{
	static const char *const keys[] = { "degrade", "stall", "exec", NULL };
	struct ckptd_alerts *a = &r->alerts;
	struct yw_map m;
	const yaml_node_t *v;

	if (yw_is_null(n) || yw_map_open(&c->w, n, "alerts", keys, &m) < 0)
		return;
	if ((v = yw_map_get(&m, "degrade")))
		cfg_degrade(c, v, &a->degrade);
	if ((v = yw_map_get(&m, "stall")) && !yw_is_null(v) &&
	    !(v->type == YAML_SCALAR_NODE && !strcmp((const char *)v->data.scalar.value, "off")))
		cfg_duration(c, v, "stall", &a->stall_ms);
	if ((v = yw_map_get(&m, "exec")))
		cfg_exec(c, v, &a->exec, &a->nexec);
}

void cfg_run_defaults(struct ckptd_run *r)
{
	r->metrics.key = CKPTD_KEY_EPOCH;
	r->metrics.format = CKPTD_FMT_CSV;
	r->checkpoints.ready = CKPTD_READY_DEFAULT;
	r->checkpoints.verify = true;
	r->early_stop.mode = CKPTD_MIN;
	r->early_stop.patience = 3;
	r->early_stop.check_finite = true;
	r->promote.method = CKPTD_PROMOTE_SYMLINK;
	r->retain.best = 1;
	r->retain.last = 1;
	r->retain.level = 3;
	r->alerts.degrade.after = 2;
}

/* Every key of a run but name and dir, which come first: paths below
 * resolve against dir. */
void cfg_run_sections(struct cfg *c, const struct yw_map *m, struct ckptd_run *r)
{
	const yaml_node_t *v, *pattern_at = NULL, *n = m->node;

	if ((v = yw_map_need(&c->w, m, "metrics", "run")))
		cfg_metrics(c, v, r);
	if ((v = yw_map_need(&c->w, m, "checkpoints", "run")))
		pattern_at = cfg_checkpoints(c, v, r);
	if (r->dir && !r->checkpoints.path && !(r->checkpoints.path = strdup(r->dir)))
		yw_error(&c->w, n, "out of memory");
	cfg_select(c, yw_map_get(m, "select"), r);
	if ((v = yw_map_get(m, "early_stop")) && !yw_is_null(v))
		cfg_early_stop(c, v, r);
	cfg_promote(c, yw_map_get(m, "promote"), pattern_at, r);
	cfg_retain(c, yw_map_get(m, "retain"), r);
	if (r->dir && !r->retain.archive && !(r->retain.archive = cfg_clean_path(r->dir, "archive")))
		yw_error(&c->w, n, "out of memory");
	if ((v = yw_map_get(m, "alerts")))
		cfg_alerts(c, v, r);
}
