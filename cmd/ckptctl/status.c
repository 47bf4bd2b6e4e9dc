/* status.c - `ckptctl status`: what the daemon has done, per run, read
 * from STATE_DIR/RUN/ (state.json's snapshot, events.jsonl, pins.json).
 *
 * Strictly read-only: nothing is created, truncated or locked, so it is
 * safe beside a running daemon and on a machine where ckptd never ran
 * (state_open()/state_load() are not used: they create the directory and
 * cut a torn last line).  Each run becomes one JSON object; --json prints
 * them, the text output is rendered from the same objects. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckptd/atomic.h"
#include "ckptd/jsonutil.h"
#include "ctl.h"

#define STATE_FILE "state.json"
#define EVENTS_FILE "events.jsonl"
#define PINS_FILE "pins.json"
#define MAX_STATE_FILE (16u << 20)
#define MAX_ALERTS 5    /* open alerts listed per run; the count covers all */
#define LABEL "  %-14s"  /* aligned labels of the text output */

/* What folding events.jsonl yields. */
struct fold {
	uint64_t events, pruned, open_alerts;
	struct json_object *promoted;    /* last `promoted` event, owned */
	struct json_object *early_stop;  /* last `early_stop` event, owned */
	struct json_object *alerts[MAX_ALERTS]; /* open alerts, oldest first, owned */
	size_t nalerts;
	struct json_object *cks;         /* the snapshot's checkpoints, borrowed */
};

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A copy of o's k (a new reference), or JSON null. */
static struct json_object *ref(struct json_object *o, const char *k)
{
	return json_object_get(get(o, k));
}

static bool is_alert(const char *event)
{
	return strcmp(event, "degraded") == 0 || strcmp(event, "non_finite") == 0 ||
	       strcmp(event, "stalled") == 0 || strcmp(event, "prune_failed") == 0;
}

static void drop_alerts(struct fold *f)
{
	for (size_t i = 0; i < f->nalerts; i++)
		json_object_put(f->alerts[i]);
	f->nalerts = 0;
	f->open_alerts = 0;
}

/* Mark the snapshot's entry for a pruned (or failed) checkpoint.  Only an
 * entry whose keep is "prune" is marked: the snapshot is taken before the
 * prune, so that is how a checkpoint now gone still appears in it. */
static void mark_checkpoint(struct fold *f, const char *event, struct json_object *ev)
{
	const char *name = get_str(ev, "checkpoint");
	size_t n = json_object_is_type(f->cks, json_type_array) ? json_object_array_length(f->cks) : 0;
	for (size_t i = 0; name && i < n; i++) {
		struct json_object *c = json_object_array_get_idx(f->cks, i);
		const char *cn = get_str(c, "name"), *keep = get_str(c, "keep");
		if (!cn || strcmp(cn, name) != 0 || !keep || strcmp(keep, "prune") != 0)
			continue;
		if (strcmp(event, "pruned") == 0) {
			json_object_object_del(c, "prune_failed");
			json_object_object_add(c, "pruned", ref(ev, "action"));
		} else {
			json_object_object_add(c, "prune_failed", ref(ev, "message"));
		}
	}
}

/* Fold one event.  The rule for "open": an alert is open until a
 * `promoted` event follows it in events.jsonl.  A new best re-arms
 * `degraded` (SPEC), and a run that promotes again is making progress, so
 * what came before it is history; `ckptctl status` shows news, and the
 * whole record stays in events.jsonl. */
static void fold_event(struct fold *f, struct json_object *ev)
{
	const char *event = get_str(ev, "event");
	f->events++;
	if (!event)
		return;
	if (strcmp(event, "promoted") == 0) {
		json_object_put(f->promoted);
		f->promoted = json_object_get(ev);
		drop_alerts(f);
	} else if (strcmp(event, "early_stop") == 0) {
		json_object_put(f->early_stop);
		f->early_stop = json_object_get(ev);
	} else if (strcmp(event, "pruned") == 0) {
		f->pruned++;
		mark_checkpoint(f, event, ev);
	}
	if (!is_alert(event))
		return;
	if (strcmp(event, "prune_failed") == 0)
		mark_checkpoint(f, event, ev);
	f->open_alerts++;
	if (f->nalerts == MAX_ALERTS) {
		json_object_put(f->alerts[0]);
		memmove(f->alerts, f->alerts + 1, (MAX_ALERTS - 1) * sizeof(*f->alerts));
		f->nalerts--;
	}
	f->alerts[f->nalerts++] = json_object_get(ev);
}

static void fold_free(struct fold *f)
{
	drop_alerts(f);
	json_object_put(f->promoted);
	json_object_put(f->early_stop);
}

/* Stream events.jsonl (it may be long) without changing it.  A last line
 * without its newline is being written or was torn by a crash: skipped.
 * *found says whether the file exists.  0, or -1 with errno. */
static int read_events(int dirfd, struct fold *f, bool *found)
{
	*found = false;
	int fd = openat(dirfd, EVENTS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	FILE *fp = fdopen(fd, "r");
	if (!fp) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*found = true;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n')
			break;
		line[n - 1] = '\0';
		struct json_object *ev = json_tokener_parse(line);
		if (json_object_is_type(ev, json_type_object))
			fold_event(f, ev);
		json_object_put(ev);
	}
	int rc = ferror(fp) ? -1 : 0, saved = errno;
	free(line);
	fclose(fp);
	errno = saved;
	return rc;
}

/* A whole JSON file of the state dir: *out NULL when it does not exist or
 * does not parse (a damaged file is reported, not fatal).  0 or -1. */
static int read_json(int dirfd, const char *name, const char *where, struct json_object **out)
{
	*out = NULL;
	char *buf = read_small_at(dirfd, name, MAX_STATE_FILE, NULL);
	if (!buf)
		return errno == ENOENT ? 0 : -1;
	*out = json_tokener_parse(buf);
	free(buf);
	if (!json_object_is_type(*out, json_type_object)) {
		fprintf(stderr, "ckptctl status: %s/%s: not a JSON object: ignored\n", where, name);
		json_object_put(*out);
		*out = NULL;
	}
	return 0;
}

static const char *key_word(const struct ckptd_run *run, struct json_object *snap)
{
	const char *k = get_str(snap, "key");
	return k ? k : run->metrics.key == CKPTD_KEY_STEP ? "step" : "epoch";
}

/* The promoted checkpoint: the snapshot's, with the metric named by the
 * promotion event (or, failing that, the run's first `select.by`). */
static struct json_object *promoted_json(const struct ckptd_run *run, struct json_object *snap,
                                         const struct fold *f)
{
	struct json_object *p = get(snap, "promoted");
	if (!json_object_is_type(p, json_type_object))
		return NULL;
	const char *metric = NULL;
	struct json_object *k1 = get(p, "key"), *k2 = get(f->promoted, "key");
	if (k1 && k2 && json_object_get_int64(k1) == json_object_get_int64(k2))
		metric = get_str(f->promoted, "metric");
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "key", ref(p, "key"));
	json_object_object_add(o, "checkpoint", ref(p, "checkpoint"));
	json_object_object_add(o, "metric", json_object_new_string(metric ? metric : run->select.by[0].metric));
	json_object_object_add(o, "value", ref(p, "value"));
	json_object_object_add(o, "metrics", ref(p, "metrics"));
	return o;
}

static struct json_object *early_stop_json(const struct ckptd_run *run, const struct fold *f)
{
	struct json_object *o = json_object_new_object(), *ev = f->early_stop;
	json_object_object_add(o, "enabled", json_object_new_boolean(run->early_stop.enabled));
	json_object_object_add(o, "fired", json_object_new_boolean(ev != NULL));
	if (ev) {
		json_object_object_add(o, "stop_at", ref(ev, "key"));
		json_object_object_add(o, "reason", ref(ev, "reason"));
		json_object_object_add(o, "metric", ref(ev, "metric"));
		json_object_object_add(o, "best", ref(ev, "best"));
		json_object_object_add(o, "best_value", ref(ev, "best_value"));
		json_object_object_add(o, "message", ref(ev, "message"));
		json_object_object_add(o, "ts", ref(ev, "ts"));
	} else if (run->early_stop.enabled) {
		json_object_object_add(o, "metric", json_object_new_string(run->early_stop.metric));
		json_object_object_add(o, "patience", json_object_new_int64(run->early_stop.patience));
	}
	return o;
}

/* The run's state, or NULL when the daemon has left none (no state.json
 * and no event). */
static struct json_object *state_json(const struct ckptd_run *run, struct json_object *whole,
                                      struct fold *f, bool events_found)
{
	struct json_object *snap = get(whole, "status");
	if (!whole && (!events_found || f->events == 0))
		return NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "updated_at", ref(snap, "updated_at"));
	json_object_object_add(o, "key", json_object_new_string(key_word(run, snap)));
	json_object_object_add(o, "latest", ref(snap, "latest"));
	json_object_object_add(o, "records", ref(snap, "records"));
	json_object_object_add(o, "promoted", promoted_json(run, snap, f));
	json_object_object_add(o, "early_stop", early_stop_json(run, f));

	struct json_object *alerts = json_object_new_array();
	for (size_t i = f->nalerts; i-- > 0;) { /* newest first */
		struct json_object *a = json_object_new_object(), *ev = f->alerts[i];
		json_object_object_add(a, "event", ref(ev, "event"));
		json_object_object_add(a, "key", ref(ev, "key"));
		json_object_object_add(a, "ts", ref(ev, "ts"));
		if (get(ev, "metric"))
			json_object_object_add(a, "metric", ref(ev, "metric"));
		if (get(ev, "checkpoint"))
			json_object_object_add(a, "checkpoint", ref(ev, "checkpoint"));
		json_object_object_add(a, "message", ref(ev, "message"));
		json_object_array_add(alerts, a);
	}
	json_object_object_add(o, "alerts", alerts);
	json_object_object_add(o, "open_alerts", json_object_new_int64((int64_t)f->open_alerts));

	struct json_object *cks = json_object_is_type(f->cks, json_type_array)
	                          ? json_object_get(f->cks) : json_object_new_array();
	int64_t kept = 0;
	for (size_t i = 0; i < json_object_array_length(cks); i++) {
		const char *keep = get_str(json_object_array_get_idx(cks, i), "keep");
		kept += keep && strcmp(keep, "prune") != 0;
	}
	json_object_object_add(o, "checkpoints", cks);
	json_object_object_add(o, "kept", json_object_new_int64(kept));
	json_object_object_add(o, "pruned", json_object_new_int64((int64_t)f->pruned));
	json_object_object_add(o, "pending", ref(whole, "pending"));
	json_object_object_add(o, "events", json_object_new_int64((int64_t)f->events));
	return o;
}

static struct json_object *pins_json(struct json_object *pins_file)
{
	struct json_object *arr = get(pins_file, "pins"), *out = json_object_new_array();
	size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		if (json_object_is_type(v, json_type_int))
			json_object_array_add(out, json_object_get(v));
	}
	return out;
}

/* One run's object.  top is STATE_DIR, open.  Returns NULL with errno on an
 * I/O error (the message is printed here). */
static struct json_object *run_json(const struct ckptd_run *run, const char *state_dir, int top)
{
	char where[4096];
	snprintf(where, sizeof(where), "%s/%s", state_dir, run->name);
	struct json_object *o = json_object_new_object();
	if (!o) {
		fprintf(stderr, "ckptctl status: %s\n", strerror(ENOMEM));
		return NULL;
	}
	json_object_object_add(o, "run", json_object_new_string(run->name));
	json_object_object_add(o, "state_dir", json_object_new_string(where));

	int dirfd = openat(top, run->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT) {
		json_object_object_add(o, "state", NULL);
		json_object_object_add(o, "pins", json_object_new_array());
		return o;
	}
	struct json_object *whole = NULL, *pins = NULL;
	struct fold f = { 0 };
	bool events_found = false;
	const char *what = where;
	int rc = -1, saved = 0;
	if (dirfd < 0)
		goto out;
	what = STATE_FILE;
	if (read_json(dirfd, STATE_FILE, where, &whole) < 0)
		goto out;
	f.cks = get(get(whole, "status"), "checkpoints");
	what = EVENTS_FILE;
	if (read_events(dirfd, &f, &events_found) < 0)
		goto out;
	what = PINS_FILE;
	if (read_json(dirfd, PINS_FILE, where, &pins) < 0)
		goto out;
	json_object_object_add(o, "state", state_json(run, whole, &f, events_found));
	json_object_object_add(o, "pins", pins_json(pins));
	rc = 0;
out:
	if (rc < 0) {
		saved = errno;
		if (what == where)
			fprintf(stderr, "ckptctl status: %s: %s\n", where, strerror(saved));
		else
			fprintf(stderr, "ckptctl status: %s/%s: %s\n", where, what, strerror(saved));
		json_object_put(o);
		o = NULL;
	}
	fold_free(&f);
	json_object_put(whole);
	json_object_put(pins);
	if (dirfd >= 0)
		close(dirfd);
	errno = saved;
	return o;
}

/* ---- text ---- */

/* A JSON scalar as text: numbers as num_format prints them, null as the
 * JSON writer's stand-in for NaN and infinity. */
static const char *scalar(struct json_object *v, char *buf, size_t len)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "non-finite";
	case json_type_int:
		snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
		return buf;
	case json_type_double:
		num_format(json_object_get_double(v), buf, len);
		return buf;
	default:
		return json_object_get_string(v);
	}
}

static void print_promoted(struct json_object *st)
{
	char b1[40], b2[40];
	const char *kw = get_str(st, "key");
	struct json_object *p = get(st, "promoted");
	if (!p) {
		printf(LABEL "none yet\n", "promoted:");
		return;
	}
	printf(LABEL "%s %s: %s (%s %s)\n", "promoted:", kw, scalar(get(p, "key"), b1, sizeof(b1)),
	       get_str(p, "checkpoint") ? get_str(p, "checkpoint") : "?",
	       get_str(p, "metric"), scalar(get(p, "value"), b2, sizeof(b2)));
	struct json_object *metrics = get(p, "metrics");
	if (!json_object_is_type(metrics, json_type_object))
		return;
	int width = 0;
	json_object_object_foreach(metrics, name, v0) {
		(void)v0;
		int w = (int)strlen(name);
		width = w > width ? w : width;
	}
	const char *label = "metrics:";
	json_object_object_foreach(metrics, k, v) {
		printf(LABEL "%-*s  %s\n", label, width, k, scalar(v, b1, sizeof(b1)));
		label = "";
	}
}

static void print_early_stop(struct json_object *es, const char *kw)
{
	char b1[40];
	if (json_object_get_boolean(get(es, "fired"))) {
		/* the daemon's message starts with the reason */
		const char *msg = get_str(es, "message"), *reason = get_str(es, "reason");
		printf(LABEL "fired after %s %s: %s\n", "early stop:", kw,
		       scalar(get(es, "stop_at"), b1, sizeof(b1)), msg ? msg : reason ? reason : "?");
	} else if (json_object_get_boolean(get(es, "enabled"))) {
		printf(LABEL "not fired (watching %s, patience %s)\n", "early stop:",
		       get_str(es, "metric"), scalar(get(es, "patience"), b1, sizeof(b1)));
	} else {
		printf(LABEL "not configured\n", "early stop:");
	}
}

static void print_alerts(struct json_object *st, const char *kw)
{
	char b1[40];
	struct json_object *alerts = get(st, "alerts");
	int64_t open = json_object_get_int64(get(st, "open_alerts"));
	size_t n = json_object_array_length(alerts);
	if (open == 0) {
		printf(LABEL "none open\n", "alerts:");
		return;
	}
	if ((int64_t)n < open)
		printf(LABEL "%" PRId64 " open, the newest %zu:\n", "alerts:", open, n);
	else
		printf(LABEL "%" PRId64 " open\n", "alerts:", open);
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(alerts, i), *k = get(a, "key");
		const char *msg = get_str(a, "message");
		printf(LABEL "%s", "", get_str(a, "event"));
		if (k)
			printf(" at %s %s", kw, scalar(k, b1, sizeof(b1)));
		printf(": %s (%s)\n", msg ? msg : get_str(a, "checkpoint") ? get_str(a, "checkpoint") : "-",
		       get_str(a, "ts") ? get_str(a, "ts") : "?");
	}
}

static void print_checkpoints(struct json_object *st, const struct ckptd_run *run)
{
	char b1[40], b2[40];
	struct json_object *cks = get(st, "checkpoints");
	size_t n = json_object_array_length(cks);
	printf(LABEL "%s kept, %s pruned\n", "checkpoints:", scalar(get(st, "kept"), b1, sizeof(b1)),
	       scalar(get(st, "pruned"), b2, sizeof(b2)));
	int width = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cks, i);
		const char *name = get(c, "pruned") ? NULL : get_str(c, "name");
		int w = name ? (int)strlen(name) : 0;
		width = w > width ? w : width;
	}
	/* what is on disk: pruned ones are only counted (a catch-up may have
	 * pruned hundreds; --json lists them) */
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cks, i);
		const char *name = get_str(c, "name"), *keep = get_str(c, "keep");
		const char *why = keep ? keep : "?";
		char buf[600];
		if (get(c, "pruned")) {
			continue;
		} else if (get(c, "prune_failed")) {
			snprintf(buf, sizeof(buf), "prune failed: %s",
			         get_str(c, "prune_failed") ? get_str(c, "prune_failed") : "?");
			why = buf;
		} else if (keep && strcmp(keep, "prune") == 0) {
			why = run->retain.enabled ? "to prune" : "not kept by any rule (no retain: left alone)";
		}
		if (!json_object_get_boolean(get(c, "ready")))
			printf(LABEL "%-*s  %s, not ready\n", "", width, name ? name : "?", why);
		else
			printf(LABEL "%-*s  %s\n", "", width, name ? name : "?", why);
	}
}

static void print_text(struct json_object *o, const struct ckptd_run *run)
{
	char b1[40], b2[40];
	struct json_object *st = get(o, "state"), *pins = get(o, "pins");
	printf("%s\n", run->name);
	if (!st) {
		printf(LABEL "no state yet (has ckptd run?) in %s\n", "state:", get_str(o, "state_dir"));
	} else {
		const char *kw = get_str(st, "key");
		printf(LABEL "%s\n", "updated:", get_str(st, "updated_at") ? get_str(st, "updated_at")
		       : "never (no snapshot in state.json)");
		print_promoted(st);
		if (get(st, "latest"))
			printf(LABEL "%s %s (%s records)\n", "latest:", kw, scalar(get(st, "latest"), b1, sizeof(b1)),
			       scalar(get(st, "records"), b2, sizeof(b2)));
		else
			printf(LABEL "no record yet\n", "latest:");
		print_early_stop(get(st, "early_stop"), kw);
		print_alerts(st, kw);
		print_checkpoints(st, run);
		struct json_object *p = get(st, "pending");
		if (p)
			printf(LABEL "%s %s (in flight, or interrupted: finished on the next pass)\n", "pending:",
			       get_str(p, "action") ? get_str(p, "action") : "?",
			       get_str(p, "checkpoint") ? get_str(p, "checkpoint") : "?");
	}
	size_t n = json_object_array_length(pins);
	printf(LABEL, "pins:");
	if (n == 0)
		fputs("none", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", scalar(json_object_array_get_idx(pins, i), b1, sizeof(b1)));
	putchar('\n');
}

/* ---- command ---- */

static int status_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int status_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ckptctl status: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_usage(stderr);
	return EX_USAGE;
}

static int report(const struct ckptd_config *cfg, const char *only, bool json)
{
	int top = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0) {
		int e = errno;
		if (e == ENOENT)
			fprintf(stderr, "ckptctl status: state dir %s does not exist (has ckptd run? "
			        "state_dir in %s)\n", cfg->state_dir, cfg->file);
		else
			fprintf(stderr, "ckptctl status: %s: %s%s\n", cfg->state_dir, strerror(e),
			        e == EACCES ? " (run as the daemon's user)" : "");
		return e == ENOENT || e == EACCES || e == ENOTDIR ? EX_NOINPUT : EX_IOERR;
	}
	int rc = 0;
	struct json_object *runs = json_object_new_array();
	for (size_t i = 0; runs && i < cfg->nruns; i++) {
		const struct ckptd_run *run = &cfg->runs[i];
		if (only && strcmp(only, run->name) != 0)
			continue;
		struct json_object *o = run_json(run, cfg->state_dir, top);
		if (!o) {
			rc = errno == ENOMEM ? EX_OSERR : errno == EACCES ? EX_NOINPUT : EX_IOERR;
			continue;
		}
		if (!json) {
			if (json_object_array_length(runs))
				putchar('\n');
			print_text(o, run);
		}
		json_object_array_add(runs, o);
	}
	close(top);
	if (!runs) {
		fprintf(stderr, "ckptctl status: %s\n", strerror(ENOMEM));
		return EX_OSERR;
	}
	if (json) {
		struct json_object *all = json_object_new_object();
		json_object_object_add(all, "runs", runs);
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		                                         JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(all);
	} else {
		json_object_put(runs);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ckptctl status: writing output: %s\n", strerror(errno));
		return EX_IOERR;
	}
	return rc;
}

int ctl_status(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CKPTD_DEFAULT_CONFIG, *only = NULL;
	bool json = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case OPT_JSON: json = true; break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc)
		only = argv[optind++];
	if (optind < argc)
		return status_usage("unexpected argument '%s'", argv[optind]);
	struct ckptd_config *cfg = ctl_load_config(path);
	if (!cfg)
		return EX_CONFIG;
	int rc;
	if (only && !config_find_run(cfg, only))
		rc = status_usage("no run named '%s' in the config", only);
	else
		rc = report(cfg, only, json);
	config_free(cfg);
	return rc;
}
