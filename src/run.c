/* run.c - one watched run: log -> records -> decisions -> actions -> events. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckptd/actions.h"
#include "ckptd/archive.h"
#include "ckptd/archive_tmp.h"
#include "ckptd/hook.h"
#include "ckptd/jsonutil.h"
#include "ckptd/metrics.h"
#include "ckptd/policy.h"
#include "ckptd/retain.h"
#include "ckptd/run.h"
#include "ckptd/records_io.h"
#include "ckptd/run_int.h"
#include "ckptd/atomic.h"


int run_emit(struct ckptd_runner *r, const char *event, bool has_key, int64_t key,
                struct json_object *fields);

const char *run_key_word(const struct ckptd_run *cfg)
{
	return cfg->metrics.key == CKPTD_KEY_STEP ? "step" : "epoch";
}

static void warn_line(void *arg, uint64_t line, const char *msg)
{
	const struct ckptd_runner *r = arg;
	log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s:%" PRIu64 ": %s", r->cfg->name,
	        r->cfg->metrics.path, line, msg);
}

/* Remove what a crash left half-done: temporaries in the archive dir
 * (only ckptd writes there) and elsewhere only ckptd's own: of the link
 * and the manifest (checkpoints and deploy dirs) and of the STOP file. */
static void clean_tmp(struct ckptd_runner *r)
{
	const struct ckptd_run *c = r->cfg;
	int fd = open(c->retain.archive, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (archive_clean_tmp(fd) < 0)
			log_errno(r->log, CKPTD_LOG_WARNING, "%s: cleaning temporaries in %s", c->name, c->retain.archive);
		close(fd);
	}
	/* the STOP file's directory and name */
	char stop_dir[PATH_MAX] = "", stop_name[PATH_MAX] = "";
	if (c->early_stop.touch) {
		snprintf(stop_dir, sizeof(stop_dir), "%s", c->early_stop.touch);
		char *slash = strrchr(stop_dir, '/');
		snprintf(stop_name, sizeof(stop_name), "%s", slash ? slash + 1 : stop_dir);
		if (slash)
			*slash = '\0';
	}
	const char *dirs[] = { c->checkpoints.path, c->promote.to, stop_dir[0] ? stop_dir : NULL };
	for (size_t d = 0; d < 3; d++) {
		char **names;
		size_t n;
		if (!dirs[d] || (fd = open(dirs[d], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (archive_tmp_names(fd, &names, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if ((archive_tmp_is_ours_for(names[i], c->promote.link) ||
				     archive_tmp_is_ours_for(names[i], c->promote.manifest) ||
				     (d == 2 && archive_tmp_is_ours_for(names[i], stop_name))) &&
				    unlinkat(fd, names[i], 0) < 0 && errno != ENOENT)
					log_errno(r->log, CKPTD_LOG_WARNING, "%s: removing %s", c->name, names[i]);
			archive_tmp_names_free(names, n);
		}
		close(fd);
	}
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
	struct ckptd_reader_opts opts = {
		.key_field = run_key_word(cfg), .key_offset = cfg->metrics.key_offset,
		.warn = warn_line, .warn_arg = r,
	};
	if (!(r->records = records_new()) ||
	    !(r->reader = metrics_new(cfg->metrics.format, cfg->metrics.zst, &opts, r->records))) {
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
	if (!dry_run)
		clean_tmp(r);
	return 0;
}

void runner_close(struct ckptd_runner *r)
{
	if (r->slow.active) { /* the daemon is going: the temporary is cleaned at start-up */
		int status;
		hook_kill(&r->slow.child);
		while (hook_reap(&r->slow.child, &status) == 0)
			poll(NULL, 0, 10);
		r->slow.active = false;
	}
	free(r->slow.entry.name);
	r->slow.entry.name = NULL;
	json_object_put(r->slow.manifest);
	r->slow.manifest = NULL;
	strset_free(&r->writing);
	strset_free(&r->dry_seen);
	metrics_free(r->reader);
	r->reader = NULL;
	records_free(r->records);
	r->records = NULL;
	ckptdir_free(&r->entries);
	if (r->ckdir >= 0)
		close(r->ckdir);
	r->ckdir = -1;
	state_free(&r->st);
	state_close(&r->sd);
}

int runner_read_log(struct ckptd_runner *r)
{
	struct ckptd_reader_opts opts = {
		.key_field = run_key_word(r->cfg), .key_offset = r->cfg->metrics.key_offset,
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

int runner_feed(struct ckptd_runner *r, const char *buf, size_t len)
{
	r->log_missing = false;
	if (r->prefix_n < sizeof(r->prefix)) {
		size_t k = sizeof(r->prefix) - r->prefix_n;
		memcpy(r->prefix + r->prefix_n, buf, len < k ? len : k);
		r->prefix_n += len < k ? len : k;
	}
	const char *nl = len ? memrchr(buf, '\n', len) : NULL;
	if (nl)
		r->complete = r->delivered + (uint64_t)(nl - buf) + 1;
	r->delivered += len;
	r->records_dirty = true;
	if (metrics_feed(r->reader, buf, len) < 0) {
		if (errno == ENOMEM) {
			log_errno(r->log, CKPTD_LOG_ERROR, "%s: reading %s", r->cfg->name, r->cfg->metrics.path);
			return -1;
		}
		/* a corrupt zstd stream: say so once, wait for the file to change */
		if (!r->stats.bad_lines++)
			log_msg(r->log, CKPTD_LOG_WARNING, "%s: %s: corrupt zstd stream", r->cfg->name,
			        r->cfg->metrics.path);
	}
	return 0;
}

void runner_log_reset(struct ckptd_runner *r)
{
	/* The reader starts again (a new header); the records stay: a rotated
	 * log's new file holds only the next epochs, and a rewritten one
	 * (Lightning) or a restarted job's goes back in keys, which replaces
	 * records as they are logged again (records.h: resumes). */
	metrics_reset(r->reader);
	memset(&r->stats, 0, sizeof(r->stats));
	r->delivered = r->complete = r->prefix_n = 0;
	r->records_dirty = true;
	log_msg(r->log, CKPTD_LOG_INFO, "%s: %s is a new file (rotated, replaced or rewritten): reading it from the start",
	        r->cfg->name, r->cfg->metrics.path);
}

#define LOG_STATE "log.json"

int runner_save_log(struct ckptd_runner *r, const struct ckptd_tail_pos *tp)
{
	const struct ckptd_run *c = r->cfg;
	bool csv = c->metrics.format != CKPTD_FMT_JSONL;
	const char *hdr_end = memchr(r->prefix, '\n', r->prefix_n);
	if (r->dry_run || c->metrics.zst || !tp->valid || r->complete == 0 || (csv && !hdr_end))
		return 0; /* nothing a restart could continue from */
	uint32_t plen = r->complete < sizeof(r->prefix) ? (uint32_t)r->complete : (uint32_t)sizeof(r->prefix);
	struct json_object *o = json_object_new_object(), *pos = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "path", json_object_new_string(c->metrics.path));
	json_object_object_add(pos, "dev", json_object_new_int64((int64_t)tp->dev));
	json_object_object_add(pos, "ino", json_object_new_int64((int64_t)tp->ino));
	json_object_object_add(pos, "offset", json_object_new_int64((int64_t)r->complete));
	json_object_object_add(pos, "prefix_len", json_object_new_int64(plen));
	json_object_object_add(pos, "prefix_hash", json_object_new_int64((int64_t)tail_prefix_hash(r->prefix, plen)));
	json_object_object_add(o, "pos", pos);
	if (csv) /* the reader needs the header to go on in the middle */
		json_object_object_add(o, "header", json_object_new_string_len(r->prefix, (int)(hdr_end - r->prefix + 1)));
	json_object_object_add(o, "records", records_to_json(r->records));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = atomic_write_at(r->sd.dirfd, LOG_STATE, text, strlen(text), 0600);
	if (rc < 0)
		log_errno(r->log, CKPTD_LOG_WARNING, "%s: saving %s", c->name, LOG_STATE);
	else
		r->records_dirty = false;
	json_object_put(o);
	return rc;
}

static int64_t jint(struct json_object *o, const char *k, bool *ok)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = false;
		return 0;
	}
	return json_object_get_int64(v);
}

/* The first n bytes of the log, into the prefix: a later save needs them. */
static int read_prefix(struct ckptd_runner *r, size_t n)
{
	int fd = open(r->cfg->metrics.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	ssize_t got = pread(fd, r->prefix, n, 0);
	close(fd);
	if (got != (ssize_t)n)
		return -1;
	r->prefix_n = n;
	return 0;
}

int runner_load_log(struct ckptd_runner *r, struct ckptd_tail_pos *pos)
{
	char *text = read_small_at(r->sd.dirfd, LOG_STATE, 1u << 30, NULL);
	if (!text)
		return -1;
	struct json_object *o = json_tokener_parse(text), *p, *recs, *path, *hdr = NULL;
	free(text);
	bool ok = o && json_object_object_get_ex(o, "pos", &p) && json_object_object_get_ex(o, "path", &path) &&
	          json_object_object_get_ex(o, "records", &recs) &&
	          strcmp(json_object_get_string(path), r->cfg->metrics.path) == 0;
	if (ok) {
		*pos = (struct ckptd_tail_pos){
			.valid = true, .dev = (uint64_t)jint(p, "dev", &ok), .ino = (uint64_t)jint(p, "ino", &ok),
			.offset = (uint64_t)jint(p, "offset", &ok), .prefix_len = (uint32_t)jint(p, "prefix_len", &ok),
			.prefix_hash = (uint64_t)jint(p, "prefix_hash", &ok),
		};
	}
	if (ok && r->cfg->metrics.format != CKPTD_FMT_JSONL)
		ok = json_object_object_get_ex(o, "header", &hdr) && json_object_is_type(hdr, json_type_string);
	ok = ok && pos->prefix_len <= sizeof(r->prefix) && read_prefix(r, pos->prefix_len) == 0 &&
	     records_from_json(r->records, recs) == 0;
	if (ok && hdr)
		ok = metrics_feed(r->reader, json_object_get_string(hdr), (size_t)json_object_get_string_len(hdr)) == 0;
	json_object_put(o);
	if (!ok) { /* start clean: the whole log is read again */
		records_clear(r->records);
		metrics_reset(r->reader);
		r->prefix_n = 0;
		return -1;
	}
	r->delivered = r->complete = pos->offset;
	log_msg(r->log, CKPTD_LOG_INFO, "%s: resuming %s at byte %llu (%zu records)", r->cfg->name,
	        r->cfg->metrics.path, (unsigned long long)pos->offset, records_count(r->records));
	return 0;
}

void runner_writing(struct ckptd_runner *r, const char *name, bool writing)
{
	if (!writing)
		strset_del(&r->writing, name);
	else if (strset_add(&r->writing, name) < 0) /* worst case it looks ready early: verify still guards */
		log_errno(r->log, CKPTD_LOG_WARNING, "%s: tracking %s", r->cfg->name, name);
}

/* Without inotify (polling) nothing says a file is still being written:
 * a file changed since the previous look is not ready yet. */
static bool changed_since(const struct ckptd_entries *prev, const struct ckptd_entry *e)
{
	for (size_t i = 0; i < prev->n; i++)
		if (strcmp(prev->v[i].name, e->name) == 0)
			return prev->v[i].size != e->size || prev->v[i].mtime_ns != e->mtime_ns;
	return true;
}

int runner_scan(struct ckptd_runner *r, int64_t now_ns)
{
	struct ckptd_entries prev = r->entries;
	r->entries = (struct ckptd_entries){ 0 };
	int rc = 0;
	if (r->ckdir < 0) {
		r->ckdir = open(r->cfg->checkpoints.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->ckdir < 0) {
			if (errno != ENOENT) { /* ENOENT: not there yet */
				log_errno(r->log, CKPTD_LOG_ERROR, "%s: opening %s", r->cfg->name,
				          r->cfg->checkpoints.path);
				rc = -1;
			}
			goto out;
		}
	}
	if (ckptdir_scan(r->ckdir, r->cfg, now_ns, &r->entries) < 0) {
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: scanning %s", r->cfg->name, r->cfg->checkpoints.path);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < r->entries.n; i++) {
		struct ckptd_entry *e = &r->entries.v[i];
		if (e->ready && !e->is_dir && strset_has(&r->writing, e->name)) {
			e->ready = false;
			snprintf(e->why, sizeof(e->why), "still open for writing");
		}
		if (e->ready && r->polling && changed_since(&prev, e)) {
			e->ready = false;
			snprintf(e->why, sizeof(e->why), "changed since the last look (polling)");
		}
		if (!e->ready)
			log_msg(r->log, CKPTD_LOG_DEBUG, "%s: %s not ready: %s", r->cfg->name, e->name, e->why);
	}
out:
	ckptdir_free(&prev);
	return rc;
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
static void promoted_event(struct ckptd_runner *r, const char *name, int64_t key)
{
	if (!r->dry_run)
		log_msg(r->log, CKPTD_LOG_NOTICE, "%s: promoted %s (%s %" PRId64 ": %s %g)", r->cfg->name,
		        name, run_key_word(r->cfg), key, r->cfg->select.by[0].metric, first_by_value(r, key));
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "checkpoint", json_object_new_string(name));
	json_object_object_add(f, "metric", json_object_new_string(r->cfg->select.by[0].metric));
	json_object_object_add(f, "value", json_number(first_by_value(r, key)));
	json_object_object_add(f, "link", json_object_new_string(r->cfg->promote.link));
	json_object_object_add(f, "previous", r->st.promoted ? json_object_new_string(r->st.promoted_name) : NULL);
	run_emit(r, "promoted", true, key, f);
}

/* In the child: copy the checkpoint to the deploy dir, then the manifest. */
static int promote_child(void *arg)
{
	struct ckptd_runner *r = arg;
	struct ckptd_actx ax = { .run = r->cfg, .log = r->log, .ckdir = r->ckdir };
	char err[512];
	if (action_promote(&ax, &r->slow.entry, json_object_get(r->slow.manifest), err, sizeof(err)) == 0)
		return 0;
	log_msg(r->log, CKPTD_LOG_ERROR, "%s: %s", r->cfg->name, err);
	return errno > 0 && errno < 256 ? errno : EIO;
}

/* A promotion by copy of a big checkpoint goes to a child: the loop goes
 * on serving other runs.  Returns 0 when started. */
static int promote_slow(struct ckptd_runner *r, const struct ckptd_entry *e)
{
	r->slow.entry = *e;
	r->slow.promote = true;
	if (!(r->slow.entry.name = strdup(e->name)) || !(r->slow.manifest = manifest(r, e)) ||
	    child_run(promote_child, r, &r->slow.child) < 0) {
		int saved = errno;
		if (saved != ENOSYS)
			log_errno(r->log, CKPTD_LOG_ERROR, "%s: cannot start copying %s", r->cfg->name, e->name);
		free(r->slow.entry.name);
		r->slow.entry.name = NULL;
		json_object_put(r->slow.manifest);
		r->slow.manifest = NULL;
		r->slow.promote = false;
		errno = saved;
		return -1;
	}
	r->slow.active = true;
	r->on_child(r->child_arg, r, &r->slow.child, false);
	return 0;
}

void runner_child_done(struct ckptd_runner *r, int status)
{
	if (!r->slow.active)
		return;
	r->slow.active = false;
	if (!r->slow.promote) {
		run_prune_done(r, status);
		return;
	}
	r->slow.promote = false;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		promoted_event(r, r->slow.entry.name, r->slow.entry.key);
	else
		log_msg(r->log, CKPTD_LOG_ERROR, "%s: copying %s to %s failed: %s", r->cfg->name,
		        r->slow.entry.name, r->cfg->promote.to,
		        WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the child was killed");
	json_object_put(r->slow.manifest);
	r->slow.manifest = NULL;
	free(r->slow.entry.name);
	r->slow.entry.name = NULL;
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
	if (same_state && (link_ok || r->dry_run)) /* a dry run said it already */
		return e;
	if (!link_ok && r->cfg->promote.method == CKPTD_PROMOTE_COPY && r->async && r->on_child &&
	    !r->dry_run) {
		/* one slow job at a time: this decision is taken again after it */
		if (r->slow.active)
			return e;
		if (promote_slow(r, e) == 0)
			return e;
		if (errno != ENOSYS) {
			(*failed)++;
			return e;
		}
		/* no pidfd_open: copy here, in the loop */
	}
	if (!link_ok) {
		char err[512];
		if (action_promote(ax, e, manifest(r, e), err, sizeof(err)) < 0) {
			log_msg(r->log, CKPTD_LOG_ERROR, "%s: %s", r->cfg->name, err);
			(*failed)++;
			return NULL;
		}
	}
	promoted_event(r, e->name, best); /* a dry run remembers it, writes nothing */
	return e;
}

static struct json_object *snapshot(const struct ckptd_runner *r, const struct ckptd_entry *best,
                                    const unsigned *keep)
{
	char ts[40], why[96];
	int64_t last;
	struct json_object *o = json_object_new_object(), *cks = json_object_new_array();
	state_timestamp(ts, sizeof(ts));
	json_object_object_add(o, "updated_at", json_object_new_string(ts));
	json_object_object_add(o, "key", json_object_new_string(run_key_word(r->cfg)));
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
	run_finish_pending(r);
	const struct ckptd_entry *best = r->ckdir >= 0 ? promote(r, &ax, &failed) : NULL;
	run_early_stop(r, &ax);
	run_degrade(r);
	run_non_finite(r);
	unsigned *keep = calloc(r->entries.n ? r->entries.n : 1, sizeof(*keep));
	if (!keep)
		return -1;
	/* never prune while the promotion is in doubt */
	if (r->ckdir >= 0 && !failed) {
		int rc = run_retain(r, &ax, best, keep);
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
