/* config.h - the YAML configuration as typed structs.
 *
 * config_load() parses with libyaml, checks everything SPEC.md lists and
 * reports each problem as FILE:LINE:COLUMN: error: MESSAGE (1-based), all
 * problems of a file in one pass where possible.  Defaults are filled in,
 * modes inferred from metric names, durations converted to milliseconds,
 * relative paths resolved against the run's dir. */
#ifndef CKPTD_CONFIG_H
#define CKPTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/metrics.h"

#define CKPTD_DEFAULT_CONFIG "/etc/ckptd/ckptd.yaml"
#define CKPTD_DEFAULT_STATE_DIR "/var/lib/ckptd"

enum ckptd_mode { CKPTD_MIN, CKPTD_MAX };
enum ckptd_key { CKPTD_KEY_EPOCH, CKPTD_KEY_STEP };
enum ckptd_log_level { CKPTD_LOG_DEBUG, CKPTD_LOG_INFO, CKPTD_LOG_NOTICE,
                       CKPTD_LOG_WARNING, CKPTD_LOG_ERROR };
enum ckptd_ready { CKPTD_READY_DEFAULT, /* close for files, settle:5s for dirs */
                   CKPTD_READY_CLOSE, CKPTD_READY_MARKER, CKPTD_READY_SETTLE };
enum ckptd_promote_method { CKPTD_PROMOTE_SYMLINK, CKPTD_PROMOTE_HARDLINK, CKPTD_PROMOTE_COPY };
enum ckptd_retain_action { CKPTD_RETAIN_NONE, CKPTD_RETAIN_DELETE,
                           CKPTD_RETAIN_COMPRESS, CKPTD_RETAIN_MOVE };

/* One `select.by` entry. */
struct ckptd_criterion {
	char *metric;
	enum ckptd_mode mode;
	double tolerance;   /* absolute, in the metric's units; >= 0 */
};

/* One `select.require` entry: a record failing it is never selected. */
struct ckptd_bound {
	char *metric;
	bool has_min, has_max;
	double min, max;    /* inclusive */
};

struct ckptd_select {
	struct ckptd_criterion *by; /* never empty once loaded: default val_loss min */
	size_t nby;
	struct ckptd_bound *require;
	size_t nrequire;
};

struct ckptd_early_stop {
	bool enabled;            /* the section was present */
	char *metric;
	enum ckptd_mode mode;
	int64_t patience;        /* default 3, as Lightning */
	double min_delta;        /* >= 0 */
	bool has_baseline, has_stopping_threshold, has_divergence_threshold;
	double baseline, stopping_threshold, divergence_threshold;
	bool check_finite;       /* default true */
	int64_t start_from;      /* default 0 */
	/* action */
	char *touch;             /* absolute once loaded, or NULL */
	int signal;              /* 0 = none */
	char *pidfile;           /* absolute once loaded; required with signal */
	char **exec;             /* argv, NULL-terminated; NULL = none */
	size_t nexec;
};

struct ckptd_degrade {
	bool enabled;
	char *metric;
	enum ckptd_mode mode;
	int64_t after;           /* >= 1, default 2 */
	double by;               /* relative, >= 0, default 0 */
	char *train_metric;      /* may be NULL */
	enum ckptd_mode train_mode;
};

struct ckptd_alerts {
	struct ckptd_degrade degrade;
	int64_t stall_ms;        /* 0 = off */
	char **exec;             /* NULL-terminated; NULL = none */
	size_t nexec;
};

struct ckptd_promote {
	char *link;              /* bare name in the checkpoints dir; default best.ckpt */
	enum ckptd_promote_method method;
	char *to;                /* absolute once loaded; required with copy */
	char *manifest;          /* bare name; default best.json; NULL = none */
};

struct ckptd_retain {
	bool enabled;            /* the section was present */
	int64_t best, last, every;
	bool unscored_prune;
	enum ckptd_retain_action action;
	char *archive;           /* absolute once loaded; default DIR/archive */
	int level;               /* zstd level 1..19, default 3 */
};

struct ckptd_run {
	char *name;
	char *dir;               /* absolute */
	struct {
		char *path;          /* absolute once loaded */
		enum ckptd_format format; /* never AUTO once loaded */
		bool zst;
		enum ckptd_key key;
		int64_t key_offset;
	} metrics;
	struct {
		char *path;          /* absolute once loaded; default dir */
		char *pattern;
		enum ckptd_ready ready;
		char *marker;        /* with CKPTD_READY_MARKER */
		int64_t settle_ms;   /* with CKPTD_READY_SETTLE */
		bool verify;         /* auto = true */
	} checkpoints;
	struct ckptd_select select;
	struct ckptd_early_stop early_stop;
	struct ckptd_promote promote;
	struct ckptd_retain retain;
	struct ckptd_alerts alerts;
};

struct ckptd_config {
	char *file;
	char *state_dir;
	enum ckptd_log_level log_level;
	int64_t poll_ms;         /* poll_interval: where inotify cannot serve (default 1s) */
	bool force_poll;         /* watch: poll (default inotify, polling as a fallback) */
	struct ckptd_run *runs;
	size_t nruns;
};

/* One located problem. */
struct ckptd_diag {
	unsigned line, column;   /* 1-based; 0 when the problem has no place */
	char *message;
};

struct ckptd_diags {
	char *file;
	struct ckptd_diag *v;
	size_t n;
};

/* Load and check path.  Returns 0 and sets *out, or -1 and fills diags
 * (errno ENOENT/EACCES... when the file cannot be read at all: diags then
 * holds one message without a place). */
int config_load(const char *path, struct ckptd_config **out, struct ckptd_diags *diags);
/* The same from memory; file names the text in messages. */
int config_parse(const char *file, const char *text, size_t len,
                 struct ckptd_config **out, struct ckptd_diags *diags);
void config_free(struct ckptd_config *c);
const struct ckptd_run *config_find_run(const struct ckptd_config *c, const char *name);

/* Print each diag as FILE:LINE:COLUMN: error: MESSAGE to f (a FILE *). */
void diags_print(const struct ckptd_diags *d, void *f);
void diags_free(struct ckptd_diags *d);

/* Shared with the command line. */

/* Infer the mode from a metric name: min for loss, error, err, mse, mae, mape,
 * perplexity, ppl; max for acc, auc, f1, precision, recall, sensitivity,
 * specificity, iou, dice, map, bleu, rouge.  The name is split into words
 * at non-alphanumerics; a word matches when it starts with one of those.
 * Min words win (dice_loss is a loss).  false when nothing matches. */
bool mode_infer(const char *metric, enum ckptd_mode *out);
const char *mode_name(enum ckptd_mode m);

/* "500ms", "30s", "5m", "2h", "1d", and sums like "1h30m".  0 or -1. */
int duration_parse(const char *s, int64_t *ms);

/* "METRIC[:min|max][@TOL]" as `ckptctl pick --by` and `select.by` take it.
 * Returns 0, or -1 with a message in err (size errlen). */
int criterion_parse(const char *s, struct ckptd_criterion *out, char *err, size_t errlen);
/* "METRIC>=X" or "METRIC<=X". */
int bound_parse(const char *s, struct ckptd_bound *out, char *err, size_t errlen);

#endif
