/* run_alerts.c - early stop and alerts of one run: each raised once,
 * remembered in events.jsonl across restarts. */
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

#include "ckptd/hook.h"
#include "ckptd/jsonutil.h"
#include "ckptd/policy.h"
#include "ckptd/retain.h"
#include "ckptd/run_int.h"

#define MAX_DEGRADE_ALERTS 4096

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
	if (r->async && r->on_child) {
		r->on_child(r->child_arg, r, &c, true);
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
int run_emit(struct ckptd_runner *r, const char *event, bool has_key, int64_t key,
                struct json_object *fields)
{
	if (r->dry_run) /* nothing written: remembered, so it is said once */
		return state_remember(&r->st, event, has_key, key, fields);
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

void run_early_stop(struct ckptd_runner *r, const struct ckptd_actx *ax)
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
	         policy_stop_reason_name(sr.reason), es->metric, sr.wait, run_key_word(r->cfg), sr.best_key);
	json_object_object_add(f, "message", json_object_new_string(msg));
	const char *reason = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN);
	char *reason_copy = strdup(reason);
	int failed = action_stop(ax, reason_copy ? reason_copy : "{}");
	free(reason_copy);
	log_msg(r->log, CKPTD_LOG_NOTICE, "%s: %searly stop after %s %" PRId64 " (%s)", r->cfg->name,
	        r->dry_run ? "would " : "", run_key_word(r->cfg), sr.stop_at, policy_stop_reason_name(sr.reason));
	if (failed)
		json_object_object_add(f, "failed_actions", json_object_new_int(failed));
	run_emit(r, "early_stop", true, sr.stop_at, f);
	run_hook(r, es->exec, "early_stop", true, sr.stop_at, NULL);
}

/* `degraded` when the latest firing point is new and still current. */
void run_degrade(struct ckptd_runner *r)
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
	                   d->metric, last.value, 100 * last.rel, last.best, run_key_word(r->cfg), last.best_key);
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
	run_emit(r, "degraded", true, last.key, f);
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
void run_non_finite(struct ckptd_runner *r)
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
		         run_key_word(r->cfg), key);
		log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s", r->cfg->name, msg);
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "metric", json_object_new_string(m));
		json_object_object_add(f, "value", json_object_new_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
		json_object_object_add(f, "message", json_object_new_string(msg));
		run_emit(r, "non_finite", true, key, f);
		return;
	}
}

void runner_stalled(struct ckptd_runner *r, int64_t idle_ms)
{
	int64_t key = -1;
	bool any = records_last_key(r->records, &key);
	if (r->st.stalled && r->st.stalled_key == (any ? key : -1))
		return; /* said already for this key */
	char msg[160];
	snprintf(msg, sizeof(msg), "no new metrics record for %lld s", (long long)(idle_ms / 1000));
	log_msg(r->log, CKPTD_LOG_WARNING, "%s: stalled: %s", r->cfg->name, msg);
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "message", json_object_new_string(msg));
	run_emit(r, "stalled", any, key, f);
}
