/* run_prune.c - retention of one run: what to keep, pruning (slow prunes
 * in a child), and a prune a crash interrupted. */
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
#include <time.h>
#include <unistd.h>

#include "ckptd/hook.h"
#include "ckptd/jsonutil.h"
#include "ckptd/policy.h"
#include "ckptd/retain.h"
#include "ckptd/run_int.h"

static const char *const action_words[] = { "none", "delete", "compress", "move" };

/* A prune in flight when the daemon died: if the original is gone, the
 * action completed but its event was not written. */
void run_finish_pending(struct ckptd_runner *r)
{
	struct stat sb;
	if (!r->st.pending || r->dry_run || r->slow.active)
		return;
	/* the event may be written already: the crash came between it and
	 * clearing the note (an event after the note, naming it) */
	bool reported = r->st.nevents > r->st.pending_seq &&
	                strcmp(r->st.last_pruned, r->st.pending_name) == 0;
	if (!reported && r->ckdir >= 0 &&
	    fstatat(r->ckdir, r->st.pending_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "checkpoint", json_object_new_string(r->st.pending_name));
		json_object_object_add(f, "action", json_object_new_string(r->st.pending_action));
		json_object_object_add(f, "message", json_object_new_string("completed before a restart"));
		run_emit(r, "pruned", true, r->st.pending_key, f);
	}
	state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
}

/* In the child: the whole prune, archive first, original after. */
static int slow_prune_child(void *arg)
{
	struct ckptd_runner *r = arg;
	struct ckptd_actx ax = { .run = r->cfg, .log = r->log, .ckdir = r->ckdir };
	char archive[512], err[512];
	uint64_t bytes;
	if (action_prune(&ax, &r->slow.entry, &bytes, archive, sizeof(archive), err, sizeof(err)) == 0)
		return 0;
	log_msg(r->log, CKPTD_LOG_ERROR, "%s: prune failed: %s", r->cfg->name, err);
	return errno > 0 && errno < 256 ? errno : EIO;
}

int64_t run_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A prune failed or succeeded: the wait before the next try. */
static void backoff(struct ckptd_runner *r, bool failed)
{
	if (!failed) {
		r->prune_backoff_ms = 0;
		r->prune_retry_at = 0;
		return;
	}
	r->prune_backoff_ms = r->prune_backoff_ms ? r->prune_backoff_ms * 2 : 1000;
	if (r->prune_backoff_ms > 60000)
		r->prune_backoff_ms = 60000;
	r->prune_retry_at = run_now_ms() + r->prune_backoff_ms;
}

static void pruned_event(struct ckptd_runner *r, const struct ckptd_entry *e, const char *how,
                         uint64_t bytes, const char *archive)
{
	log_msg(r->log, CKPTD_LOG_INFO, "%s: pruned %s (%s)", r->cfg->name, e->name, how);
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "checkpoint", json_object_new_string(e->name));
	json_object_object_add(f, "action", json_object_new_string(how));
	json_object_object_add(f, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(f, "archive", archive[0] ? json_object_new_string(archive) : NULL);
	run_emit(r, "pruned", true, e->key, f);
}

static void prune_failed_event(struct ckptd_runner *r, const struct ckptd_entry *e, const char *how,
                               const char *err)
{
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "checkpoint", json_object_new_string(e->name));
	json_object_object_add(f, "action", json_object_new_string(how));
	json_object_object_add(f, "message", json_object_new_string(err));
	if (!state_failed(&r->st, e->name)) /* once until it succeeds */
		run_emit(r, "prune_failed", true, e->key, f);
	else
		json_object_put(f);
}

/* Start a compress or move in a child; 2 = busy (stop pruning this pass). */
static int prune_slow(struct ckptd_runner *r, const struct ckptd_entry *e, const char *how)
{
	r->slow.entry = *e;
	if (!(r->slow.entry.name = strdup(e->name)))
		return -1;
	if (r->cfg->retain.action == CKPTD_RETAIN_COMPRESS)
		snprintf(r->slow.archive, sizeof(r->slow.archive), "%s%s", e->name, e->is_dir ? ".tar.zst" : ".zst");
	else
		snprintf(r->slow.archive, sizeof(r->slow.archive), "%s", e->name);
	if (child_run(slow_prune_child, r, &r->slow.child) < 0) {
		int saved = errno;
		free(r->slow.entry.name);
		r->slow.entry.name = NULL;
		if (saved == ENOSYS) { /* no pidfd_open (old kernel, valgrind): do it here */
			if (!r->warned_nosys++)
				log_msg(r->log, CKPTD_LOG_WARNING, "%s: no pidfd_open here: slow work runs in "
				        "the event loop", r->cfg->name);
			errno = saved;
			return -1;
		}
		log_errno(r->log, CKPTD_LOG_ERROR, "%s: cannot start a child to %s %s", r->cfg->name, how, e->name);
		state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
		errno = saved;
		return -1;
	}
	r->slow.active = true;
	r->on_child(r->child_arg, r, &r->slow.child, false);
	return 2;
}

void run_prune_done(struct ckptd_runner *r, int status)
{
	const char *how = action_words[r->cfg->retain.action];
	backoff(r, !(WIFEXITED(status) && WEXITSTATUS(status) == 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		pruned_event(r, &r->slow.entry, how, (uint64_t)r->slow.entry.size, r->slow.archive);
	} else {
		char err[512];
		snprintf(err, sizeof(err), "%s %s: %s", how, r->slow.entry.name,
		         WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the child was killed");
		prune_failed_event(r, &r->slow.entry, how, err);
	}
	state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
	free(r->slow.entry.name);
	r->slow.entry.name = NULL;
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
	if (real && r->async && r->on_child && r->cfg->retain.action != CKPTD_RETAIN_DELETE)
	{
		int rc = prune_slow(r, e, how);
		if (rc >= 0 || errno != ENOSYS)
			return rc;
	}
	if (!real && strset_has(&r->dry_seen, e->name))
		return 0; /* "would prune" said once */
	int rc = action_prune(ax, e, &bytes, archive, sizeof(archive), err, sizeof(err));
	if (!real)
		return strset_add(&r->dry_seen, e->name) < 0 ? -1 : 0;
	backoff(r, rc != 0);
	if (rc == 0) {
		pruned_event(r, e, how, bytes, archive);
	} else {
		log_msg(r->log, CKPTD_LOG_ERROR, "%s: prune failed: %s", r->cfg->name, err);
		prune_failed_event(r, e, how, err);
	}
	state_set_pending(&r->sd, &r->st, NULL, 0, NULL);
	return rc == 0 ? 0 : 1;
}

int run_retain(struct ckptd_runner *r, const struct ckptd_actx *ax, const struct ckptd_entry *best,
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
		if (keep[i] || !r->cfg->retain.enabled || e->unreadable || r->slow.active ||
		    (r->prune_retry_at && run_now_ms() < r->prune_retry_at))
			continue;
		int rc = prune_one(r, ax, e);
		if (rc == 2) /* a child is at it: the rest waits for the next pass */
			continue;
		failed += rc != 0;
	}
	free(items);
	return failed;
}
