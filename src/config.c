/* config.c - YAML -> struct ckptd_config: reading the file, the top
 * level, the list of runs and each run's name and dir; the other keys
 * of a run are config_run.c's.  YAML mechanics (places, types, unknown
 * keys, aliases) live in yamlwalk.c; the textual values shared with
 * ckptctl (modes, durations, criteria) in confval.c.  Every check
 * reports and lets the walk go on, so that one pass shows every problem
 * of a file, as OpenBSD's parse.y does. */
#include "ckptd/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckptd/config_run.h"

#define CONFIG_MAX_BYTES (16u * 1024 * 1024)

static const char *const cfg_top_keys[] = { "state_dir", "log_level", "watch", "poll_interval", "runs", NULL };
static const char *const cfg_run_keys[] = {
	"name", "dir", "metrics", "checkpoints", "select", "early_stop", "promote",
	"retain", "alerts", NULL
};
static const char *const cfg_levels[] = { "debug", "info", "notice", "warning", "error", NULL };

/* ---- runs ---- */

static bool cfg_valid_run_name(const char *s)
{
	size_t n = strlen(s);

	/* the name is a directory under state_dir: "." and ".." would escape it */
	return n >= 1 && n <= 64 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void cfg_run_name(struct cfg *c, const struct yw_map *m, size_t idx)
{
	struct ckptd_run *r = &c->c->runs[idx];
	const yaml_node_t *v = yw_map_need(&c->w, m, "name", "run");

	if (!v || yw_string(&c->w, v, "name", &r->name) < 0)
		return;
	if (!cfg_valid_run_name(r->name)) {
		yw_error(&c->w, v, "run name '%s' must be 1 to 64 of A-Z a-z 0-9 . _ - "
		         "(and not . or ..)", r->name);
		return;
	}
	c->name_line[idx] = yw_line(v);
	for (size_t j = 0; j < idx; j++) {
		if (c->c->runs[j].name && !strcmp(c->c->runs[j].name, r->name)) {
			yw_error(&c->w, v, "duplicate run name '%s' (first at line %u)",
			         r->name, c->name_line[j]);
			return;
		}
	}
}

static void cfg_run_dir(struct cfg *c, const struct yw_map *m, struct ckptd_run *r)
{
	const yaml_node_t *v = yw_map_need(&c->w, m, "dir", "run");
	char *s = NULL;

	if (!v || yw_string(&c->w, v, "dir", &s) < 0)
		return;
	if (s[0] != '/')
		yw_error(&c->w, v, "dir must be an absolute path, got '%s'", s);
	else if (!(r->dir = cfg_clean_path(NULL, s)))
		yw_error(&c->w, v, "out of memory");
	free(s);
}

static void cfg_run(struct cfg *c, const yaml_node_t *n, size_t idx)
{
	struct ckptd_run *r = &c->c->runs[idx];
	struct yw_map m;

	cfg_run_defaults(r);
	if (yw_map_open(&c->w, n, "a run", cfg_run_keys, &m) < 0)
		return;
	cfg_run_name(c, &m, idx);
	cfg_run_dir(c, &m, r);
	cfg_run_sections(c, &m, r);
}

/* ---- top level ---- */

/* $STATE_DIRECTORY (systemd StateDirectory=; the first of a list). */
static char *cfg_default_state_dir(void)
{
	const char *env = getenv("STATE_DIRECTORY");
	size_t n = env ? strcspn(env, ":") : 0;

	return n ? strndup(env, n) : strdup(CKPTD_DEFAULT_STATE_DIR);
}

static void cfg_runs(struct cfg *c, const yaml_node_t *v)
{
	long len;

	if (yw_is_null(v)) {
		yw_error(&c->w, v, "runs is empty: at least one run is needed");
		return;
	}
	if ((len = yw_seq(&c->w, v, "runs")) < 0)
		return;
	if (len == 0) {
		yw_error(&c->w, v, "runs is empty: at least one run is needed");
		return;
	}
	c->c->runs = calloc((size_t)len, sizeof(*c->c->runs));
	c->name_line = calloc((size_t)len, sizeof(*c->name_line));
	if (!c->c->runs || !c->name_line) {
		yw_error(&c->w, v, "out of memory");
		return;
	}
	c->c->nruns = (size_t)len;
	for (size_t i = 0; i < c->c->nruns; i++)
		cfg_run(c, yw_seq_item(&c->w, v, i), i);
}

static void cfg_top(struct cfg *c, const yaml_node_t *root)
{
	struct yw_map m;
	const yaml_node_t *v;
	int level = CKPTD_LOG_INFO;

	if (root->type != YAML_MAPPING_NODE) {
		yw_error(&c->w, root, "the configuration must be a mapping with a 'runs' list, got %s",
		         yw_kind(root));
		return;
	}
	yw_map_open(&c->w, root, "the configuration", cfg_top_keys, &m);
	if ((v = yw_map_get(&m, "state_dir")) && !yw_is_null(v)) {
		char *s = NULL;

		if (yw_string(&c->w, v, "state_dir", &s) == 0 && s[0] != '/') {
			yw_error(&c->w, v, "state_dir must be an absolute path, got '%s'", s);
		} else if (s) {
			free(c->c->state_dir);
			if (!(c->c->state_dir = cfg_clean_path(NULL, s)))
				yw_error(&c->w, v, "out of memory");
		}
		free(s);
	}
	if ((v = yw_map_get(&m, "log_level")))
		yw_enum(&c->w, v, "log_level", cfg_levels, &level);
	c->c->log_level = (enum ckptd_log_level)level;
	if ((v = yw_map_get(&m, "watch"))) {
		static const char *const modes[] = { "inotify", "poll", NULL };
		int mode = 0;
		if (yw_enum(&c->w, v, "watch", modes, &mode) == 0)
			c->c->force_poll = mode == 1;
	}
	if ((v = yw_map_get(&m, "poll_interval")) &&
	    cfg_duration(c, v, "poll_interval", &c->c->poll_ms) == 0 &&
	    (c->c->poll_ms < 10 || c->c->poll_ms > 3600000))
		yw_error(&c->w, v, "poll_interval must be between 10ms and 1h");
	if ((v = yw_map_need(&c->w, &m, "runs", "the configuration")))
		cfg_runs(c, v);
}

/* ---- public ---- */

struct config_diag_pos {
	struct ckptd_diag d;
	size_t i;
};

static int config_diag_cmp(const void *a, const void *b)
{
	const struct config_diag_pos *x = a, *y = b;

	if (x->d.line != y->d.line)
		return x->d.line < y->d.line ? -1 : 1;
	if (x->d.column != y->d.column)
		return x->d.column < y->d.column ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Report in file order, as a compiler does: the walk visits a run's
 * keys in schema order, not in the order they were written. */
static void config_sort_diags(struct ckptd_diags *d, size_t from)
{
	size_t n = d->n - from;
	struct config_diag_pos *t;

	if (n < 2 || !(t = calloc(n, sizeof(*t))))
		return;
	for (size_t i = 0; i < n; i++)
		t[i] = (struct config_diag_pos){ d->v[from + i], i };
	qsort(t, n, sizeof(*t), config_diag_cmp);
	for (size_t i = 0; i < n; i++)
		d->v[from + i] = t[i].d;
	free(t);
}

int config_parse(const char *file, const char *text, size_t len,
                 struct ckptd_config **out, struct ckptd_diags *diags)
{
	struct cfg c = { 0 };
	const yaml_node_t *root;
	size_t first = diags->n;
	int rc = -1;

	*out = NULL;
	if (!diags->file)
		diags->file = strdup(file ? file : "<config>");
	c.c = calloc(1, sizeof(*c.c));
	if (!c.c || !(c.c->file = strdup(file ? file : "<config>")) ||
	    !(c.c->state_dir = cfg_default_state_dir())) {
		c.w.diags = diags;
		yw_error_at(&c.w, 0, 0, "out of memory");
		goto out;
	}
	c.c->log_level = CKPTD_LOG_INFO;
	c.c->poll_ms = 1000;
	if (yw_load(&c.w, text, len, diags) < 0)
		goto out;
	root = yw_root(&c.w);
	if (!root || yw_is_null(root))
		yw_error_at(&c.w, 1, 1, "the file is empty: expected a mapping with a 'runs' list");
	else
		cfg_top(&c, root);
	if (c.w.nerr == 0) {
		*out = c.c;
		c.c = NULL;
		rc = 0;
	}
out:
	config_sort_diags(diags, first);
	yw_free(&c.w);
	free(c.name_line);
	config_free(c.c);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

/* The whole file, at most CONFIG_MAX_BYTES.  NULL with errno. */
static char *config_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int e = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		e = errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		e = EISDIR;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= CONFIG_MAX_BYTES) {
				e = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			if (!(nb = realloc(buf, cap))) {
				e = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf ? buf : strdup("");
fail:
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

int config_load(const char *path, struct ckptd_config **out, struct ckptd_diags *diags)
{
	size_t len = 0;
	char *text = config_read(path, &len);
	int rc, e;

	*out = NULL;
	if (!text) {
		struct yw w = { .diags = diags };

		e = errno;
		if (!diags->file)
			diags->file = strdup(path);
		yw_error_at(&w, 0, 0, "cannot read %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	rc = config_parse(path, text, len, out, diags);
	e = errno;
	free(text);
	errno = e;
	return rc;
}

static void config_free_argv(char **argv, size_t n)
{
	for (size_t i = 0; argv && i < n; i++)
		free(argv[i]);
	free(argv);
}

static void config_free_run(struct ckptd_run *r)
{
	free(r->name);
	free(r->dir);
	free(r->metrics.path);
	free(r->checkpoints.path);
	free(r->checkpoints.pattern);
	free(r->checkpoints.marker);
	for (size_t i = 0; i < r->select.nby; i++)
		free(r->select.by[i].metric);
	free(r->select.by);
	for (size_t i = 0; i < r->select.nrequire; i++)
		free(r->select.require[i].metric);
	free(r->select.require);
	free(r->early_stop.metric);
	free(r->early_stop.touch);
	free(r->early_stop.pidfile);
	config_free_argv(r->early_stop.exec, r->early_stop.nexec);
	free(r->promote.link);
	free(r->promote.to);
	free(r->promote.manifest);
	free(r->retain.archive);
	free(r->alerts.degrade.metric);
	free(r->alerts.degrade.train_metric);
	config_free_argv(r->alerts.exec, r->alerts.nexec);
}

void config_free(struct ckptd_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nruns; i++)
		config_free_run(&c->runs[i]);
	free(c->runs);
	free(c->file);
	free(c->state_dir);
	free(c);
}

const struct ckptd_run *config_find_run(const struct ckptd_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->nruns; i++)
		if (c->runs[i].name && !strcmp(c->runs[i].name, name))
			return &c->runs[i];
	return NULL;
}

void diags_print(const struct ckptd_diags *d, void *f)
{
	const char *file = d->file ? d->file : "<config>";

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line)
			fprintf(f, "%s:%u:%u: error: %s\n", file, d->v[i].line, d->v[i].column,
			        d->v[i].message);
		else
			fprintf(f, "%s: error: %s\n", file, d->v[i].message);
	}
}

void diags_free(struct ckptd_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].message);
	free(d->v);
	free(d->file);
	d->v = NULL;
	d->n = 0;
	d->file = NULL;
}
