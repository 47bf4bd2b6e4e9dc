/* pick.c - `ckptctl pick`: run the selection policy over a whole metrics
 * log offline and explain the choice, as text or JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/explain.h"
#include "ckptd/jsonutil.h"
#include "ckptd/metrics.h"
#include "ckptd/policy.h"
#include "ckptd/records.h"
#include "ctl.h"

#define MAX_FLAGS 64

struct pick_args {
	struct ckptd_criterion by[MAX_FLAGS];
	size_t nby;
	struct ckptd_bound require[MAX_FLAGS];
	size_t nrequire;
	const char *key;
	const char *stop;
	const char *patience;
	const char *min_delta;
	const char *config;
	const char *run;
	const char *file;
	bool json;
};

/* What the pick works with once flags and config are merged. */
struct pick {
	struct ckptd_select sel;
	enum ckptd_key key;
	int64_t key_offset;
	const char *file;
	enum ckptd_format format;
	bool has_stop;
	struct ckptd_early_stop stop;
	struct ckptd_records *records;
	struct ckptd_reader_stats stats;
};

static const char *key_word(enum ckptd_key k)
{
	return k == CKPTD_KEY_STEP ? "step" : "epoch";
}

static void free_args(struct pick_args *a)
{
	for (size_t i = 0; i < a->nby; i++)
		free(a->by[i].metric);
	for (size_t i = 0; i < a->nrequire; i++)
		free(a->require[i].metric);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ckptctl pick: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_usage(stderr);
	return EX_USAGE;
}

static int parse_args(int argc, char **argv, struct pick_args *a)
{
	enum { OPT_BY = 256, OPT_REQUIRE, OPT_KEY, OPT_STOP, OPT_PATIENCE, OPT_MIN_DELTA, OPT_JSON };
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, OPT_BY },
		{ "require", required_argument, NULL, OPT_REQUIRE },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "stop", required_argument, NULL, OPT_STOP },
		{ "patience", required_argument, NULL, OPT_PATIENCE },
		{ "min-delta", required_argument, NULL, OPT_MIN_DELTA },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "config", required_argument, NULL, 'c' },
		{ "run", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int ch;
	while ((ch = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_BY:
			if (a->nby == MAX_FLAGS)
				return usage_error("too many --by (at most %d)", MAX_FLAGS);
			if (criterion_parse(optarg, &a->by[a->nby], err, sizeof(err)) < 0)
				return usage_error("--by: %s", err);
			a->nby++;
			break;
		case OPT_REQUIRE:
			if (a->nrequire == MAX_FLAGS)
				return usage_error("too many --require (at most %d)", MAX_FLAGS);
			if (bound_parse(optarg, &a->require[a->nrequire], err, sizeof(err)) < 0)
				return usage_error("--require: %s", err);
			a->nrequire++;
			break;
		case OPT_KEY:
			if (strcmp(optarg, "epoch") != 0 && strcmp(optarg, "step") != 0)
				return usage_error("--key must be epoch or step, not '%s'", optarg);
			a->key = optarg;
			break;
		case OPT_STOP: a->stop = optarg; break;
		case OPT_PATIENCE: a->patience = optarg; break;
		case OPT_MIN_DELTA: a->min_delta = optarg; break;
		case OPT_JSON: a->json = true; break;
		case 'c': a->config = optarg; break;
		case 'r': a->run = optarg; break;
		case 'h':
			ctl_usage(stdout);
			return -1;
		default:
			ctl_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc)
		a->file = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((a->patience || a->min_delta) && !a->stop)
		return usage_error("%s needs --stop METRIC", a->patience ? "--patience" : "--min-delta");
	return 0;
}

static int parse_int(const char *s, int64_t min, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static int parse_nonneg(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Early stopping from --stop/--patience/--min-delta; Lightning's defaults
 * for the rest (patience 3, check_finite). */
static int stop_from_flags(const struct pick_args *a, struct ckptd_early_stop *es)
{
	char err[256];
	struct ckptd_criterion c;
	if (criterion_parse(a->stop, &c, err, sizeof(err)) < 0)
		return usage_error("--stop: %s", err);
	*es = (struct ckptd_early_stop){
		.enabled = true, .metric = c.metric, .mode = c.mode, .patience = 3, .check_finite = true,
	};
	if (a->patience && parse_int(a->patience, 0, &es->patience) < 0) {
		free(c.metric);
		es->metric = NULL;
		return usage_error("--patience must be a whole number >= 0, not '%s'", a->patience);
	}
	if (a->min_delta && parse_nonneg(a->min_delta, &es->min_delta) < 0) {
		free(c.metric);
		es->metric = NULL;
		return usage_error("--min-delta must be a number >= 0, not '%s'", a->min_delta);
	}
	return 0;
}

/* Merge flags over the run's settings (flags win).  Returns 0 or an exit
 * code.  *cfg is set when a config was loaded (the pick borrows from it). */
static int setup(struct pick_args *a, struct ckptd_config **cfg, struct pick *p)
{
	static struct ckptd_criterion default_by = { .metric = "val_loss", .mode = CKPTD_MIN };
	const struct ckptd_run *run = NULL;

	if (a->config || a->run) {
		*cfg = ctl_load_config(a->config ? a->config : CKPTD_DEFAULT_CONFIG);
		if (!*cfg)
			return EX_CONFIG;
		if (a->run) {
			run = config_find_run(*cfg, a->run);
			if (!run)
				return usage_error("no run named '%s' in the config", a->run);
		} else if ((*cfg)->nruns == 1) {
			run = &(*cfg)->runs[0];
		} else {
			return usage_error("%s has several runs: name one with -r RUN", (*cfg)->file);
		}
	}

	p->sel.by = &default_by;
	p->sel.nby = 1;
	if (a->nby) {
		p->sel.by = a->by;
		p->sel.nby = a->nby;
	} else if (run) {
		p->sel.by = run->select.by;
		p->sel.nby = run->select.nby;
	}
	if (a->nrequire) {
		p->sel.require = a->require;
		p->sel.nrequire = a->nrequire;
	} else if (run) {
		p->sel.require = run->select.require;
		p->sel.nrequire = run->select.nrequire;
	}

	p->key = CKPTD_KEY_EPOCH;
	if (a->key)
		p->key = strcmp(a->key, "step") == 0 ? CKPTD_KEY_STEP : CKPTD_KEY_EPOCH;
	else if (run)
		p->key = run->metrics.key;
	p->key_offset = run ? run->metrics.key_offset : 0;

	p->format = CKPTD_FMT_AUTO;
	p->file = a->file;
	if (!p->file && run) {
		p->file = run->metrics.path;
		p->format = run->metrics.format;
	}
	if (!p->file)
		return usage_error("%s", "no METRICS_FILE given (or -c FILE -r RUN)");

	if (a->stop) {
		int rc = stop_from_flags(a, &p->stop);
		if (rc)
			return rc;
		p->has_stop = true;
	} else if (run && run->early_stop.enabled) {
		p->stop = run->early_stop;
		p->has_stop = true;
	}
	return 0;
}

static void warn_line(void *arg, uint64_t line, const char *msg)
{
	fprintf(stderr, "ckptctl: %s:%" PRIu64 ": warning: %s\n", (const char *)arg, line, msg);
}

static int read_log(struct pick *p)
{
	struct ckptd_reader_opts opts = {
		.key_field = key_word(p->key), .key_offset = p->key_offset,
		.warn = warn_line, .warn_arg = (void *)p->file,
	};
	if (metrics_read_file(p->file, p->format, &opts, p->records, &p->stats) < 0) {
		int e = errno;
		fprintf(stderr, "ckptctl: %s: %s\n", p->file,
		        e == EBADMSG ? "corrupt zstd stream" : strerror(e));
		if (e == ENOMEM)
			return EX_OSERR;
		if (e == EBADMSG)
			return EX_DATAERR;
		return e == ENOENT || e == EACCES || e == EISDIR || e == ENOTDIR ? EX_NOINPUT : EX_IOERR;
	}
	if (p->stats.bad_lines || p->stats.no_key || p->stats.long_lines)
		fprintf(stderr, "ckptctl: %s: skipped %" PRIu64 " unparsable line(s), %" PRIu64
		        " row(s) without a usable %s, %" PRIu64 " over-long line(s)\n",
		        p->file, p->stats.bad_lines, p->stats.no_key, key_word(p->key), p->stats.long_lines);
	return 0;
}

/* Say why nothing could be selected: the first by-metric never logged or
 * never finite, or require excluding every scored record. */
static void explain_nothing(const struct pick *p)
{
	size_t n = records_count(p->records);
	if (n == 0) {
		fprintf(stderr, "ckptctl: %s: no records with %s %s\n", p->file,
		        p->key == CKPTD_KEY_EPOCH ? "an" : "a", key_word(p->key));
		return;
	}
	for (size_t c = 0; c < p->sel.nby; c++) {
		const char *m = p->sel.by[c].metric;
		size_t logged = 0, finite = 0;
		for (size_t i = 0; i < n; i++) {
			double v;
			if (records_get(p->records, records_at(p->records, i), m, &v)) {
				logged++;
				finite += isfinite(v) != 0;
			}
		}
		if (finite == 0) {
			if (logged)
				fprintf(stderr, "ckptctl: %s: no record can be selected: %s is not finite "
				        "in any of the %zu records that log it\n", p->file, m, logged);
			else
				fprintf(stderr, "ckptctl: %s: no record can be selected: %s is not logged "
				        "in any of the %zu records\n", p->file, m, n);
			if (!logged) {
				fputs("ckptctl: logged metrics:", stderr);
				for (size_t id = 0; id < records_nmetrics(p->records); id++)
					fprintf(stderr, " %s", records_metric_name(p->records, id));
				fputc('\n', stderr);
			}
			return;
		}
	}
	fprintf(stderr, "ckptctl: %s: no record can be selected: none has every selection "
	        "metric finite and meets every require bound\n", p->file);
}

static struct json_object *metrics_json(const struct ckptd_records *r, const struct ckptd_record *rec)
{
	struct json_object *o = json_object_new_object();
	for (size_t id = 0; o && id < records_nmetrics(r); id++) {
		double v;
		if (record_get(rec, (int)id, &v))
			json_object_object_add(o, records_metric_name(r, id), json_number(v));
	}
	return o;
}

static void print_json(const struct pick *p, int64_t sel, int64_t last,
                       const struct ckptd_stop_result *sr, const struct ckptd_explanation *ex)
{
	const struct ckptd_criterion *c = &p->sel.by[0];
	const struct ckptd_record *rec = records_find(p->records, sel);
	double v = 0;
	records_get(p->records, rec, c->metric, &v);

	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(key_word(p->key)));
	json_object_object_add(o, "selected", json_object_new_int64(sel));
	json_object_object_add(o, "selection_metric", json_object_new_string(c->metric));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(c->mode)));
	json_object_object_add(o, "value", json_number(v));
	json_object_object_add(o, "metrics", metrics_json(p->records, rec));
	json_object_object_add(o, "last", json_object_new_int64(last));
	json_object_object_add(o, "last_metrics", metrics_json(p->records, records_find(p->records, last)));

	struct json_object *by = json_object_new_array();
	for (size_t i = 0; i < p->sel.nby; i++) {
		struct json_object *b = json_object_new_object();
		json_object_object_add(b, "metric", json_object_new_string(p->sel.by[i].metric));
		json_object_object_add(b, "mode", json_object_new_string(mode_name(p->sel.by[i].mode)));
		json_object_object_add(b, "tolerance", json_number(p->sel.by[i].tolerance));
		json_object_array_add(by, b);
	}
	json_object_object_add(o, "by", by);

	struct json_object *lines = json_object_new_array();
	for (size_t i = 0; i < ex->n; i++)
		json_object_array_add(lines, json_object_new_string(ex->lines[i]));
	json_object_object_add(o, "explanation", lines);
	if (ex->has_turn && ex->turn.turned)
		json_object_object_add(o, "overfitting_onset",
		                       ex->turn.has_train && ex->turn.train_improving
		                               ? json_object_new_int64(ex->turn.onset) : NULL);
	if (p->has_stop) {
		struct json_object *es = json_object_new_object();
		json_object_object_add(es, "metric", json_object_new_string(p->stop.metric));
		json_object_object_add(es, "mode", json_object_new_string(mode_name(p->stop.mode)));
		json_object_object_add(es, "patience", json_object_new_int64(p->stop.patience));
		json_object_object_add(es, "best", sr->has_best ? json_object_new_int64(sr->best_key) : NULL);
		json_object_object_add(es, "best_value", sr->has_best ? json_number(sr->best_value) : NULL);
		json_object_object_add(es, "stop_at", sr->fired ? json_object_new_int64(sr->stop_at) : NULL);
		json_object_object_add(es, "reason", sr->fired
		                       ? json_object_new_string(policy_stop_reason_name(sr->reason)) : NULL);
		json_object_object_add(o, "early_stop", es);
	}
	struct json_object *st = json_object_new_object();
	json_object_object_add(st, "records", json_object_new_int64((int64_t)records_count(p->records)));
	json_object_object_add(st, "bad_lines", json_object_new_int64((int64_t)p->stats.bad_lines));
	json_object_object_add(st, "no_key", json_object_new_int64((int64_t)p->stats.no_key));
	json_object_object_add(st, "long_lines", json_object_new_int64((int64_t)p->stats.long_lines));
	json_object_object_add(o, "input", st);

	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(const struct pick *p, int64_t sel, int64_t last,
                       const struct ckptd_stop_result *sr, const struct ckptd_explanation *ex)
{
	const char *kw = key_word(p->key);
	const struct ckptd_criterion *c = &p->sel.by[0];
	char buf[40];
	double v = 0;
	records_get(p->records, records_find(p->records, sel), c->metric, &v);
	num_format(v, buf, sizeof(buf));

	printf("selected_%s: %" PRId64 "\n", kw, sel);
	printf("selection_metric: %s (%s)\n", c->metric, mode_name(c->mode));
	printf("value: %s\n", buf);
	for (size_t i = 1; i < p->sel.nby; i++)
		printf("then_by: %s (%s)\n", p->sel.by[i].metric, mode_name(p->sel.by[i].mode));
	printf("last_%s: %" PRId64 "\n", kw, last);
	if (p->has_stop) {
		if (sr->fired)
			printf("early_stop: after %s %" PRId64 " (%s)\n", kw, sr->stop_at,
			       policy_stop_reason_name(sr->reason));
		else
			printf("early_stop: would not fire\n");
	}
	puts("why:");
	for (size_t i = 0; i < ex->n; i++)
		printf("  %s\n", ex->lines[i]);
}

static int run_pick(struct pick *p, bool json)
{
	int rc = read_log(p);
	if (rc)
		return rc;
	int64_t sel, last;
	if (!policy_select(p->records, &p->sel, NULL, 0, &sel)) {
		explain_nothing(p);
		return EX_DATAERR;
	}
	last = records_at(p->records, records_count(p->records) - 1)->key;

	struct ckptd_stop_result sr = { 0 };
	if (p->has_stop)
		policy_early_stop(p->records, &p->stop, &sr);

	struct ckptd_explain_in in = {
		.records = p->records, .select = &p->sel, .key_name = key_word(p->key),
		.selected = sel, .stop = p->has_stop ? &p->stop : NULL,
		.stop_result = p->has_stop ? &sr : NULL,
	};
	struct ckptd_explanation ex = { 0 };
	if (explain_build(&in, &ex) < 0) {
		fprintf(stderr, "ckptctl: %s\n", strerror(errno));
		return EX_OSERR;
	}
	if (json)
		print_json(p, sel, last, &sr, &ex);
	else
		print_text(p, sel, last, &sr, &ex);
	explain_free(&ex);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ckptctl: writing output: %s\n", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

int ctl_pick(int argc, char **argv)
{
	struct pick_args a = { 0 };
	struct pick p = { 0 };
	struct ckptd_config *cfg = NULL;
	int rc = parse_args(argc, argv, &a);
	if (rc < 0) { /* --help */
		free_args(&a);
		return 0;
	}
	if (rc == 0)
		rc = setup(&a, &cfg, &p);
	if (rc == 0) {
		p.records = records_new();
		rc = p.records ? run_pick(&p, a.json) : EX_OSERR;
	}
	records_free(p.records);
	if (a.stop)
		free(p.stop.metric);
	config_free(cfg);
	free_args(&a);
	return rc;
}
