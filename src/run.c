/* run.c - one watched run: log -> records -> decisions -> actions -> events. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckptd/actions.h"
#include "ckptd/hook.h"
#include "ckptd/jsonutil.h"
#include "ckptd/metrics.h"
#include "ckptd/policy.h"
#include "ckptd/retain.h"
#include "ckptd/run.h"

#define MAX_DEGRADE_ALERTS 4096

static const char *key_word(const struct ckptd_run *cfg)
{
	return cfg->metrics.key == CKPTD_KEY_STEP ? "step" : "epoch";
}

int runner_open(struct ckptd_runner *r, const struct ckptd_run *cfg, const char *state_dir,
                const struct ckptd_log *log, bool dry_run)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->log = log;
	r->dry_run = dry_run;
	r->ckdir = -1;
	r->sd.dirfd = r->sd.events_fd = -1;
	if (!(r->records = records_new())) {
		log_errno(log, CKPTD_LOG_ERROR, "%s", cfg->name);
		return -1;
	}
	if (state_open(state_dir, cfg->name, &r->sd) < 0) {
		log_errno(log, CKPTD_LOG_ERROR, "%s: cannot open state in %s/%s", cfg->name, state_dir, cfg->name);
		return -1;
	}
	if (state_load(&r->sd, &r->st) < 0) {
		log_errno(log, CKPTD_LOG_ERROR, "%s: cannot load state from %s/%s", cfg->name, state_dir, cfg->name);
		return -1;
	}
	return 0;
}

void runner_close(struct ckptd_runner *r)
{
	records_free(r->records);
	r->records = NULL;
	ckptdir_free(&r->entries);
	if (r->ckdir >= 0)
		close(r->ckdir);
	r->ckdir = -1;
	state_free(&r->st);
	state_close(&r->sd);
}

static void warn_line(void *arg, uint64_t line, const char *msg)
{
	const struct ckptd_runner *r = arg;
	log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s:%" PRIu64 ": %s", r->cfg->name,
	        r->cfg->metrics.path, line, msg);
}

int runner_read_log(struct ckptd_runner *r)
{
	struct ckptd_reader_opts opts = {
		.key_field = key_word(r->cfg), .key_offset = r->cfg->metrics.key_offset,
		.warn = warn_line, .warn_arg = r,
	};
	records_clear(r->records);
	r->log_missing = false;
	if (metrics_read_file(r->cfg->metrics.path, r->cfg->metrics.format, &opts, r->records,
	                      &r->stats) < 0) {
		if (errno == ENOENT) {
			r->log_missing = true;
			log_msg(r->log, CKPTD_LOG_INFO, "%s: %s does not exist yet", r->cfg->name,
			        r->cfg->metrics.path);
			return 0;
		}
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: reading %s", r->cfg->name, r->cfg->metrics.path);
		return -1;
	}
	if (r->stats.bad_lines || r->stats.bad_cells || r->stats.no_key)
		log_msg(r->log, CKPTD_LOG_NOTICE, "%s: %s: skipped %" PRIu64 " bad lines, %" PRIu64
		        " bad cells, %" PRIu64 " rows without a key", r->cfg->name, r->cfg->metrics.path,
		        r->stats.bad_lines, r->stats.bad_cells, r->stats.no_key);
	return 0;
}

int runner_scan(struct ckptd_runner *r, int64_t now_ns)
{
	ckptdir_free(&r->entries);
	if (r->ckdir < 0) {
		r->ckdir = open(r->cfg->checkpoints.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->ckdir < 0) {
			if (errno == ENOENT)
				return 0; /* not there yet */
			log_errno(r->log, CKPTD_LOG_ERROR, "%s: opening %s", r->cfg->name, r->cfg->checkpoints.path);
			return -1;
		}
	}
	if (ckptdir_scan(r->ckdir, r->cfg, now_ns, &r->entries) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: scanning %s", r->cfg->name, r->cfg->checkpoints.path);
		return -1;
	}
	for (size_t i = 0; i < r->entries.n; i++) {
		const struct ckptd_entry *e = &r->entries.v[i];
		if (!e->ready)
			log_msg(r->log, CKPTD_LOG_DEBUG, "%s: %s not ready: %s", r->cfg->name, e->name, e->why);
	}
	return 0;
}

/* Run a hook and wait for it (at most CKPTD_HOOK_TIMEOUT_MS): a failing
 * hook is logged, never fatal. */
static void run_hook(struct ckptd_runner *r, char **argv, const char *event, bool has_key,
                     int64_t key, const char *json)
{
	char keybuf[24] = "";
	if (!argv || r->dry_run)
		return;
	if (has_key)
		snprintf(keybuf, sizeof(keybuf), "%" PRId64, key);
	struct ckptd_hook_vars vars = { .run = r->cfg->name, .event = event, .key = keybuf };
	struct ckptd_child c;
	if (hook_spawn(argv, &vars, json, &c) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: %s hook %s", r->cfg->name, event, argv[0]);
		return;
	}
	struct pollfd pfd = { .fd = c.pidfd, .events = POLLIN };
	int n;
	do
		n = poll(&pfd, 1, CKPTD_HOOK_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		log_msg(r->log, CKPTD_LOG_ERROR, "%s: %s hook %s still running after %d s: killed",
		        r->cfg->name, event, argv[0], CKPTD_HOOK_TIMEOUT_MS / 1000);
		hook_kill(&c);
	}
	int status = 0;
	while (hook_reap(&c, &status) == 0)
		poll(&pfd, 1, 100);
	if (n != 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s hook %s failed (status %d)", r->cfg->name,
		        event, argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Append an event; alerts also run alerts.exec. */
static int emit(struct ckptd_runner *r, const char *event, bool has_key, int64_t key,
                struct json_object *fields)
{
	if (r->dry_run) {
		json_object_put(fields);
		return 0;
	}
	char *line = NULL;
	if (state_event(&r->sd, &r->st, event, has_key, key, fields, &line) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: cannot record event %s", r->cfg->name, event);
		return -1;
	}
	bool alert = strcmp(event, "promoted") != 0 && strcmp(event, "pruned") != 0;
	if (alert)
		run_hook(r, r->cfg->alerts.exec, event, has_key, key, line);
	free(line);
	return 0;
}

static struct json_object *metrics_json(const struct ckptd_records *recs, const struct ckptd_record *rec)
{
	struct json_object *o = json_object_new_object();
	for (size_t id = 0; o && rec && id < records_nmetrics(recs); id++) {
		double v;
		if (record_get(rec, (int)id, &v))
			json_object_object_add(o, records_metric_name(recs, id), json_number(v));
	}
	return o;
}

static double first_by_value(const struct ckptd_runner *r, int64_t key)
{
	double v = NAN;
	records_get(r->records, records_find(r->records, key), r->cfg->select.by[0].metric, &v);
	return v;
}

/* The ready keys, for selection. */
static size_t ready_keys(const struct ckptd_runner *r, int64_t *keys)
{
	size_t n = 0;
	for (size_t i = 0; i < r->entries.n; i++)
		if (r->entries.v[i].ready && !r->entries.v[i].unreadable)
			keys[n++] = r->entries.v[i].key;
	return n;
}

static struct json_object *manifest(const struct ckptd_runner *r, const struct ckptd_entry *e)
{
	char ts[40];
	struct json_object *m = json_object_new_object(), *by = json_object_new_array();
	state_timestamp(ts, sizeof(ts));
	json_object_object_add(m, "run", json_object_new_string(r->cfg->name));
	json_object_object_add(m, "key", json_object_new_int64(e->key));
	json_object_object_add(m, "value", json_number(first_by_value(r, e->key)));
	json_object_object_add(m, "checkpoint", json_object_new_string(e->name));
	json_object_object_add(m, "metrics", metrics_json(r->records, records_find(r->records, e->key)));
	for (size_t i = 0; i < r->cfg->select.nby; i++) {
		struct json_object *c = json_object_new_object();
		json_object_object_add(c, "metric", json_object_new_string(r->cfg->select.by[i].metric));
		json_object_object_add(c, "mode", json_object_new_string(mode_name(r->cfg->select.by[i].mode)));
		json_object_object_add(c, "tolerance", json_number(r->cfg->select.by[i].tolerance));
		json_object_array_add(by, c);
	}
	json_object_object_add(m, "selected_by", by);
	json_object_object_add(m, "promoted_at", json_object_new_string(ts));
	struct json_object *prev = NULL;
	if (r->st.promoted) {
		prev = json_object_new_object();
		json_object_object_add(prev, "key", json_object_new_int64(r->st.promoted_key));
		json_object_object_add(prev, "checkpoint", json_object_new_string(r->st.promoted_name));
	}
	json_object_object_add(m, "previous", prev);
	return m;
}

/* Keep best.ckpt on the selected checkpoint.  Returns the selected entry
 * (NULL when nothing is selectable) and sets *failed on a failed promotion. */
static const struct ckptd_entry *promote(struct ckptd_runner *r, const struct ckptd_actx *ax, int *failed)
{
	int64_t *keys = malloc((r->entries.n ? r->entries.n : 1) * sizeof(*keys)), best;
	if (!keys) {
		(*failed)++;
		return NULL;
	}
	size_t n = ready_keys(r, keys);
	bool any = policy_select(r->records, &r->cfg->select, keys, n, &best);
	free(keys);
	if (!any)
		return NULL;
	const struct ckptd_entry *e = ckptdir_find(&r->entries, best);
	if (!e)
		return NULL;
	bool same_state = r->st.promoted && r->st.promoted_key == best &&
	                  strcmp(r->st.promoted_name, e->name) == 0;
	bool link_ok = r->cfg->promote.method == CKPTD_PROMOTE_COPY ? same_state : action_link_is(ax, e);
	if (link_ok && same_state)
		return e;
	if (!link_ok) {
		char err[512];
		if (action_promote(ax, e, manifest(r, e), err, sizeof(err)) < 0) {
			log_msg(r->log, CKPTD_LOG_ERROR, "%s: %s", r->cfg->name, err);
			(*failed)++;
			return NULL;
		}
	}
	if (!r->dry_run)
		log_msg(r->log, CKPTD_LOG_NOTICE, "%s: promoted %s (%s %s = %g)", r->cfg->name, e->name,
		        key_word(r->cfg), r->cfg->select.by[0].metric, first_by_value(r, best));
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "checkpoint", json_object_new_string(e->name));
	json_object_object_add(f, "metric", json_object_new_string(r->cfg->select.by[0].metric));
	json_object_object_add(f, "value", json_number(first_by_value(r, best)));
	json_object_object_add(f, "link", json_object_new_string(r->cfg->promote.link));
	json_object_object_add(f, "previous", r->st.promoted ? json_object_new_string(r->st.promoted_name) : NULL);
	emit(r, "promoted", true, best, f);
	return e;
}

static void early_stop(struct ckptd_runner *r, const struct ckptd_actx *ax)
{
	const struct ckptd_early_stop *es = &r->cfg->early_stop;
	if (!es->enabled || r->st.early_stopped)
		return;
	struct ckptd_stop_result sr;
	policy_early_stop(r->records, es, &sr);
	if (!sr.fired)
		return;
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "metric", json_object_new_string(es->metric));
	json_object_object_add(f, "reason", json_object_new_string(policy_stop_reason_name(sr.reason)));
	json_object_object_add(f, "best", sr.has_best ? json_object_new_int64(sr.best_key) : NULL);
	json_object_object_add(f, "best_value", sr.has_best ? json_number(sr.best_value) : NULL);
	json_object_object_add(f, "value", json_number(sr.last_value));
	json_object_object_add(f, "patience", json_object_new_int64(es->patience));
	char msg[256];
	snprintf(msg, sizeof(msg), "%s: no improvement of %s for %" PRId64 " evaluations after %s %" PRId64,
	         policy_stop_reason_name(sr.reason), es->metric, sr.wait, key_word(r->cfg), sr.best_key);
	json_object_object_add(f, "message", json_object_new_string(msg));
	const char *reason = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN);
	char *reason_copy = strdup(reason);
	int failed = action_stop(ax, reason_copy ? reason_copy : "{}");
	free(reason_copy);
	log_msg(r->log, CKPTD_LOG_NOTICE, "%s: %searly stop after %s %" PRId64 " (%s)", r->cfg->name,
	        r->dry_run ? "would " : "", key_word(r->cfg), sr.stop_at, policy_stop_reason_name(sr.reason));
	if (failed)
		json_object_object_add(f, "failed_actions", json_object_new_int(failed));
	emit(r, "early_stop", true, sr.stop_at, f);
	run_hook(r, es->exec, "early_stop", true, sr.stop_at, NULL);
}

/* `degraded` when the latest firing point is new and still current. */
static void degrade(struct ckptd_runner *r)
{
	const struct ckptd_degrade *d = &r->cfg->alerts.degrade;
	if (!d->enabled)
		return;
	struct ckptd_degrade_alert *a = malloc(MAX_DEGRADE_ALERTS * sizeof(*a));
	if (!a)
		return;
	long n = policy_degrade(r->records, d, a, MAX_DEGRADE_ALERTS);
	if (n <= 0 || (r->st.degraded && a[(n > MAX_DEGRADE_ALERTS ? MAX_DEGRADE_ALERTS : n) - 1].key <= r->st.degraded_key)) {
		free(a);
		return;
	}
	struct ckptd_degrade_alert last = a[(n > MAX_DEGRADE_ALERTS ? MAX_DEGRADE_ALERTS : n) - 1];
	free(a);
	/* a new best since then re-armed it: the alert is history, not news */
	for (size_t i = 0; i < records_count(r->records); i++) {
		const struct ckptd_record *rec = records_at(r->records, i);
		double v;
		if (rec->key > last.key && records_get(r->records, rec, d->metric, &v) && isfinite(v) &&
		    policy_better(d->mode, v, last.best))
			return;
	}
	char msg[320];
	int off = snprintf(msg, sizeof(msg), "%s %g is %.1f%% worse than the best %g (%s %" PRId64 ")",
	                   d->metric, last.value, 100 * last.rel, last.best, key_word(r->cfg), last.best_key);
	if (last.has_train && off > 0 && (size_t)off < sizeof(msg))
		snprintf(msg + off, sizeof(msg) - (size_t)off, "; %s %s (%g -> %g)%s", d->train_metric,
		         last.train_improving ? "kept improving" : "did not improve", last.train_best,
		         last.train_value, last.train_improving ? ": overfitting" : "");
	log_msg(r->log, CKPTD_LOG_WARNING, "%s: degraded: %s", r->cfg->name, msg);
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "metric", json_object_new_string(d->metric));
	json_object_object_add(f, "value", json_number(last.value));
	json_object_object_add(f, "best", json_number(last.best));
	json_object_object_add(f, "best_key", json_object_new_int64(last.best_key));
	json_object_object_add(f, "message", json_object_new_string(msg));
	emit(r, "degraded", true, last.key, f);
}

static bool watched(const struct ckptd_run *cfg, const char *m)
{
	for (size_t i = 0; i < cfg->select.nby; i++)
		if (strcmp(cfg->select.by[i].metric, m) == 0)
			return true;
	return (cfg->early_stop.enabled && strcmp(cfg->early_stop.metric, m) == 0) ||
	       (cfg->alerts.degrade.enabled && strcmp(cfg->alerts.degrade.metric, m) == 0);
}

/* `non_finite` for the latest record, once. */
static void non_finite(struct ckptd_runner *r)
{
	int64_t key;
	if (!records_last_key(r->records, &key) || (r->st.non_finite && key <= r->st.non_finite_key))
		return;
	const struct ckptd_record *rec = records_find(r->records, key);
	for (size_t id = 0; rec && id < records_nmetrics(r->records); id++) {
		double v;
		const char *m = records_metric_name(r->records, id);
		if (!record_get(rec, (int)id, &v) || isfinite(v) || !watched(r->cfg, m))
			continue;
		char msg[200];
		snprintf(msg, sizeof(msg), "%s is %s at %s %" PRId64, m, isnan(v) ? "NaN" : "infinite",
		         key_word(r->cfg), key);
		log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s", r->cfg->name, msg);
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "metric", json_object_new_string(m));
		json_object_object_add(f, "value", json_object_new_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
		json_object_object_add(f, "message", json_object_new_string(msg));
		emit(r, "non_finite", true, key, f);
		return;
	}
}

static const char *const action_words[] = { "none", "delete", "compress", "move" };

/* A prune in flight when the daemon died: if the original is gone, the
 * action completed but its event was not written. */
static void finish_pending(struct ckptd_runner *r)
{
	struct stat sb;
	if (!r->st.pending || r->dry_run)
		return;
	if (r->ckdir >= 0 && fstatat(r->ckdir, r->st.pending_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT) {
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "checkpoint", json_object_new_string(r->st.pending_name));
		json_object_object_add(f, "action", json_object_new_string(r->st.pending_action));
		json_object_object_add(f, "message", json_object_new_string("completed before a restart"));
		emit(r, "pruned", true, r->st.pending_key, f);
	}
	state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
}

static int prune_one(struct ckptd_runner *r, const struct ckptd_actx *ax, const struct ckptd_entry *e)
{
	const char *how = action_words[r->cfg->retain.action];
	char archive[512], err[512];
	uint64_t bytes;
	bool real = !r->dry_run && r->cfg->retain.action != CKPTD_RETAIN_NONE;
	if (real && state_set_pending(&r->sd, &r->st, e->name, e->key, how) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: cannot write state before pruning %s", r->cfg->name, e->name);
		return -1;
	}
	int rc = action_prune(ax, e, &bytes, archive, sizeof(archive), err, sizeof(err));
	if (!real)
		return 0;
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "checkpoint", json_object_new_string(e->name));
	json_object_object_add(f, "action", json_object_new_string(how));
	if (rc == 0) {
		log_msg(r->log, CKPTD_LOG_INFO, "%s: pruned %s (%s)", r->cfg->name, e->name, how);
		json_object_object_add(f, "bytes", json_object_new_int64((int64_t)bytes));
		json_object_object_add(f, "archive", archive[0] ? json_object_new_string(archive) : NULL);
		emit(r, "pruned", true, e->key, f);
	} else {
		log_msg(r->log, CKPTD_LOG_ERROR, "%s: prune failed: %s", r->cfg->name, err);
		json_object_object_add(f, "message", json_object_new_string(err));
		if (!state_failed(&r->st, e->name)) /* once until it succeeds */
			emit(r, "prune_failed", true, e->key, f);
		else
			json_object_put(f);
	}
	state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
	return rc == 0 ? 0 : 1;
}

static int retain(struct ckptd_runner *r, const struct ckptd_actx *ax, const struct ckptd_entry *best,
                  unsigned *keep)
{
	struct ckptd_retain_item *items = calloc(r->entries.n ? r->entries.n : 1, sizeof(*items));
	if (!items)
		return -1;
	for (size_t i = 0; i < r->entries.n; i++)
		items[i] = (struct ckptd_retain_item){
			.key = r->entries.v[i].key,
			.ready = r->entries.v[i].ready && !r->entries.v[i].unreadable,
		};
	int failed = 0;
	if (retain_decide(r->records, &r->cfg->select, &r->cfg->retain, r->st.pins, r->st.npins,
	                  items, r->entries.n) < 0) {
		free(items);
		return -1;
	}
	for (size_t i = 0; i < r->entries.n; i++) {
		const struct ckptd_entry *e = &r->entries.v[i];
		keep[i] = items[i].keep;
		/* the link's target stays whatever the rules say */
		if (best && strcmp(e->name, best->name) == 0)
			keep[i] |= CKPTD_KEEP_BEST;
		if (keep[i] || !r->cfg->retain.enabled || e->unreadable)
			continue;
		failed += prune_one(r, ax, e) != 0;
	}
	free(items);
	return failed;
}

static struct json_object *snapshot(const struct ckptd_runner *r, const struct ckptd_entry *best,
                                    const unsigned *keep)
{
	char ts[40], why[96];
	int64_t last;
	struct json_object *o = json_object_new_object(), *cks = json_object_new_array();
	state_timestamp(ts, sizeof(ts));
	json_object_object_add(o, "updated_at", json_object_new_string(ts));
	json_object_object_add(o, "key", json_object_new_string(key_word(r->cfg)));
	json_object_object_add(o, "latest", records_last_key(r->records, &last) ? json_object_new_int64(last) : NULL);
	json_object_object_add(o, "records", json_object_new_int64((int64_t)records_count(r->records)));
	if (best) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "key", json_object_new_int64(best->key));
		json_object_object_add(p, "checkpoint", json_object_new_string(best->name));
		json_object_object_add(p, "value", json_number(first_by_value(r, best->key)));
		json_object_object_add(p, "metrics", metrics_json(r->records, records_find(r->records, best->key)));
		json_object_object_add(o, "promoted", p);
	}
	for (size_t i = 0; i < r->entries.n; i++) {
		const struct ckptd_entry *e = &r->entries.v[i];
		struct json_object *c = json_object_new_object();
		json_object_object_add(c, "name", json_object_new_string(e->name));
		json_object_object_add(c, "key", json_object_new_int64(e->key));
		json_object_object_add(c, "ready", json_object_new_boolean(e->ready));
		retain_why(keep ? keep[i] : ~0u, why, sizeof(why));
		json_object_object_add(c, "keep", json_object_new_string(keep ? why : "all"));
		json_object_array_add(cks, c);
	}
	json_object_object_add(o, "checkpoints", cks);
	return o;
}

int runner_decide(struct ckptd_runner *r)
{
	struct ckptd_actx ax = { .run = r->cfg, .log = r->log, .ckdir = r->ckdir, .dry_run = r->dry_run };
	int failed = 0;
	finish_pending(r);
	const struct ckptd_entry *best = r->ckdir >= 0 ? promote(r, &ax, &failed) : NULL;
	early_stop(r, &ax);
	degrade(r);
	non_finite(r);
	unsigned *keep = calloc(r->entries.n ? r->entries.n : 1, sizeof(*keep));
	if (!keep)
		return -1;
	/* never prune while the promotion is in doubt */
	if (r->ckdir >= 0 && !failed) {
		int rc = retain(r, &ax, best, keep);
		failed += rc < 0 ? 1 : rc;
	}
	int rc = 0;
	if (!r->dry_run && state_save(&r->sd, &r->st, snapshot(r, best, failed ? NULL : keep)) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: writing state", r->cfg->name);
		rc = -1;
	}
	free(keep);
	return rc < 0 ? -1 : failed;
}
