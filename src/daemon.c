/* daemon.c - the long-running daemon: one thread owns every decision;
 * epoll over inotify, signalfd and timers; slow work in children. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/daemon.h"
#include "ckptd/hook.h"
#include "ckptd/loop.h"
#include "ckptd/notify.h"
#include "ckptd/run.h"
#include "ckptd/tail.h"
#include "ckptd/watch.h"

#define DECIDE_DELAY_MS 100   /* gather a burst of events into one decision */
#define RESCAN_MS 30000       /* a safety net under inotify */
#define RETRY_MS 1000         /* missing dirs, not-ready checkpoints, polling */
#define SAVE_LOG_MS 5000      /* records saved at most this often (and at exit) */

struct ckptd_daemon;

struct drun {
	struct ckptd_daemon *d;
	struct ckptd_runner r;
	bool open;
	struct ckptd_tail *tail;
	int ck_watch, parent_watch, pins_watch;
	uint64_t decide_timer, retry_timer, rescan_timer, stall_timer;
	bool polling_ck;          /* the checkpoints dir could not be watched */
	int64_t saved_ms;         /* when the records were last saved */
	size_t seen_records;
	int64_t seen_key;
	bool seen_any;
};

struct child_slot {
	struct ckptd_daemon *d;
	struct drun *run;
	bool hook;
	struct ckptd_child own;   /* hooks: the slot owns the child */
	struct ckptd_child *c;    /* hooks: &own; slow prunes: the runner's */
	uint64_t kill_timer;
	struct child_slot *next;
};

struct ckptd_daemon {
	struct ckptd_daemon_opts o;
	struct ckptd_config *cfg;
	struct ckptd_log log;
	struct ckptd_loop *loop;
	struct ckptd_watch *watch;
	int sigfd;
	struct drun *runs;
	size_t nruns;
	struct child_slot *children;
	int64_t watchdog_ms;
	int exit_code;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void decide_cb(struct ckptd_loop *l, void *arg);

static void schedule_decide(struct drun *dr)
{
	if (!dr->decide_timer)
		dr->decide_timer = loop_timer(dr->d->loop, DECIDE_DELAY_MS, decide_cb, dr);
}

/* ---- children: hooks and slow prunes ---- */

static void slot_free(struct ckptd_daemon *d, struct child_slot *s)
{
	for (struct child_slot **p = &d->children; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	loop_timer_cancel(d->loop, s->kill_timer);
	free(s);
}

static void child_exit_cb(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	struct child_slot *s = arg;
	int status = 0;
	(void)events;
	/* a readable pidfd means the child has exited: the reap does not wait */
	loop_del_fd(l, fd);
	if (hook_reap(s->c, &status) <= 0) {
		log_errno(&s->d->log, CKPTD_LOG_ERROR, "reaping child %d", (int)s->c->pid);
		status = W_EXITCODE(EX_SOFTWARE, 0);
	}
	if (!s->hook) {
		runner_child_done(&s->run->r, status);
		schedule_decide(s->run);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_msg(&s->d->log, CKPTD_LOG_WARNING, "%s: hook (pid %d) failed with status %d",
		        s->run->r.cfg->name, (int)s->c->pid,
		        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	slot_free(s->d, s);
}

static void hook_timeout_cb(struct ckptd_loop *l, void *arg)
{
	struct child_slot *s = arg;
	(void)l;
	s->kill_timer = 0;
	log_msg(&s->d->log, CKPTD_LOG_ERROR, "%s: hook (pid %d) still running after %d s: killed",
	        s->run->r.cfg->name, (int)s->c->pid, CKPTD_HOOK_TIMEOUT_MS / 1000);
	hook_kill(s->c);
}

static void on_child(void *arg, struct ckptd_runner *r, struct ckptd_child *c, bool hook)
{
	struct drun *dr = arg;
	struct ckptd_daemon *d = dr->d;
	(void)r;
	struct child_slot *s = calloc(1, sizeof(*s));
	if (!s) {
		log_errno(&d->log, CKPTD_LOG_ERROR, "tracking child %d", (int)c->pid);
		return;
	}
	*s = (struct child_slot){ .d = d, .run = dr, .hook = hook, .own = *c, .next = d->children };
	s->c = hook ? &s->own : c;
	if (loop_add_fd(d->loop, s->c->pidfd, EPOLLIN, child_exit_cb, s) < 0) {
		log_errno(&d->log, CKPTD_LOG_ERROR, "watching child %d", (int)c->pid);
		free(s);
		return;
	}
	if (hook)
		s->kill_timer = loop_timer(d->loop, CKPTD_HOOK_TIMEOUT_MS, hook_timeout_cb, s);
	d->children = s;
}

/* Stop tracking every child of dr (all runs when dr is NULL): hooks are
 * killed and reaped here, slow prunes by runner_close(). */
static void drop_children(struct ckptd_daemon *d, struct drun *dr)
{
	struct child_slot *s = d->children, *next;
	for (; s; s = next) {
		next = s->next;
		if (dr && s->run != dr)
			continue;
		loop_del_fd(d->loop, s->c->pidfd);
		if (s->hook) {
			int status;
			hook_kill(s->c);
			while (hook_reap(s->c, &status) == 0)
				usleep(10000);
		}
		slot_free(d, s);
	}
}

/* ---- the checkpoints dir ---- */

static void ck_event(void *arg, const struct inotify_event *ev);
static void parent_event(void *arg, const struct inotify_event *ev);

static void retry_cb(struct ckptd_loop *l, void *arg);

static void schedule_retry(struct drun *dr, int64_t ms)
{
	if (!dr->retry_timer)
		dr->retry_timer = loop_timer(dr->d->loop, ms, retry_cb, dr);
}

/* Watch the checkpoints dir, or its parent while it does not exist. */
static void watch_ckdir(struct drun *dr)
{
	struct ckptd_daemon *d = dr->d;
	const char *path = dr->r.cfg->checkpoints.path;
	if (dr->ck_watch >= 0 || dr->polling_ck)
		return;
	uint32_t mask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
	                IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;
	const char *fs = d->cfg->force_poll ? "a config that says watch: poll" : tail_remote_fs(path);
	if (fs) { /* inotify never sees other hosts' writes there */
		log_msg(&d->log, CKPTD_LOG_NOTICE, "%s: polling %s every %lld ms: %s%s", dr->r.cfg->name, path,
		        (long long)d->cfg->poll_ms, d->cfg->force_poll ? "" : "it is on ", fs);
		dr->polling_ck = dr->r.polling = true;
		schedule_retry(dr, d->cfg->poll_ms);
		return;
	}
	dr->ck_watch = watch_add(d->watch, path, mask, ck_event, dr);
	if (dr->ck_watch >= 0) {
		if (dr->parent_watch >= 0) {
			watch_remove(d->watch, dr->parent_watch);
			dr->parent_watch = -1;
		}
		return;
	}
	if (errno == ENOSPC || errno == ENOMEM) {
		log_msg(&d->log, CKPTD_LOG_NOTICE, "%s: polling %s every %lld ms: the inotify watch limit is "
		        "reached (raise fs.inotify.max_user_watches)", dr->r.cfg->name, path,
		        (long long)d->cfg->poll_ms);
		dr->polling_ck = dr->r.polling = true;
		schedule_retry(dr, d->cfg->poll_ms);
		return;
	}
	if (errno == ENOENT && dr->parent_watch < 0) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", path);
		dr->parent_watch = watch_add(d->watch, dirname(parent), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
		                             parent_event, dr);
	}
	schedule_retry(dr, RETRY_MS); /* the parent may be missing too */
}

static void ckdir_gone(struct drun *dr)
{
	if (dr->r.ckdir >= 0)
		close(dr->r.ckdir);
	dr->r.ckdir = -1;
	dr->ck_watch = -1;
	watch_ckdir(dr);
}

static void ck_event(void *arg, const struct inotify_event *ev)
{
	struct drun *dr = arg;
	if (!ev) {
		/* overflow: events were lost, the IN_IGNORED of a removed dir too;
		 * watch afresh and look at everything again (the tail does its own) */
		if (dr->ck_watch >= 0)
			watch_remove(dr->d->watch, dr->ck_watch);
		dr->ck_watch = -1;
		watch_ckdir(dr);
	} else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_IGNORED) {
			dr->ck_watch = -1;
			ckdir_gone(dr);
		}
	} else if (ev->len && !(ev->mask & IN_ISDIR)) {
		if (ev->mask & (IN_CREATE | IN_MODIFY))
			runner_writing(&dr->r, ev->name, true);
		else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM))
			runner_writing(&dr->r, ev->name, false);
	}
	schedule_decide(dr);
}

static void parent_event(void *arg, const struct inotify_event *ev)
{
	struct drun *dr = arg;
	if (ev && (ev->mask & IN_IGNORED))
		dr->parent_watch = -1;
	watch_ckdir(dr);
	schedule_decide(dr);
}

static void retry_cb(struct ckptd_loop *l, void *arg)
{
	struct drun *dr = arg;
	(void)l;
	dr->retry_timer = 0;
	watch_ckdir(dr);
	if (dr->polling_ck)
		schedule_retry(dr, dr->d->cfg->poll_ms);
	schedule_decide(dr);
}

static void rescan_cb(struct ckptd_loop *l, void *arg)
{
	struct drun *dr = arg;
	dr->rescan_timer = loop_timer(l, RESCAN_MS, rescan_cb, dr);
	schedule_decide(dr);
}

/* ---- the metrics log ---- */

static int tail_data(void *arg, const char *buf, size_t len)
{
	struct drun *dr = arg;
	return runner_feed(&dr->r, buf, len);
}

static void tail_reset(void *arg)
{
	struct drun *dr = arg;
	runner_log_reset(&dr->r);
}

static void tail_idle(void *arg)
{
	schedule_decide(arg);
}

static const struct ckptd_tail_ops tail_ops = { tail_data, tail_reset, tail_idle };

static void pins_event(void *arg, const struct inotify_event *ev)
{
	struct drun *dr = arg;
	if (ev && (ev->mask & IN_IGNORED)) {
		dr->pins_watch = -1;
		return;
	}
	if (!ev || (ev->len && strcmp(ev->name, "pins.json") == 0)) {
		if (state_load_pins(&dr->r.sd, &dr->r.st) < 0)
			log_errno(&dr->d->log, CKPTD_LOG_WARNING, "%s: reading pins", dr->r.cfg->name);
		schedule_decide(dr);
	}
}

/* ---- decisions ---- */

static void stall_cb(struct ckptd_loop *l, void *arg)
{
	struct drun *dr = arg;
	(void)l;
	dr->stall_timer = 0;
	runner_stalled(&dr->r, dr->r.cfg->alerts.stall_ms);
}

/* New records re-arm the stall timer. */
static void track_stall(struct drun *dr)
{
	int64_t key = 0;
	bool any = records_last_key(dr->r.records, &key);
	size_t n = records_count(dr->r.records);
	if (dr->r.cfg->alerts.stall_ms <= 0)
		return;
	if (dr->stall_timer && any == dr->seen_any && key == dr->seen_key && n == dr->seen_records)
		return;
	dr->seen_any = any;
	dr->seen_key = key;
	dr->seen_records = n;
	loop_timer_cancel(dr->d->loop, dr->stall_timer);
	dr->stall_timer = loop_timer(dr->d->loop, dr->r.cfg->alerts.stall_ms, stall_cb, dr);
}

static void notify_status(struct ckptd_daemon *d)
{
	char msg[512];
	int off = snprintf(msg, sizeof(msg), "STATUS=watching %zu run%s", d->nruns, d->nruns == 1 ? "" : "s");
	for (size_t i = 0; i < d->nruns && i < 3 && off > 0 && (size_t)off < sizeof(msg); i++) {
		const struct ckptd_state *st = &d->runs[i].r.st;
		off += snprintf(msg + off, sizeof(msg) - (size_t)off, "; %s: %s%s", d->runs[i].r.cfg->name,
		                st->promoted ? "best " : "no best yet", st->promoted ? st->promoted_name : "");
	}
	if (notify_send(msg) < 0)
		log_errno(&d->log, CKPTD_LOG_DEBUG, "sd_notify");
}

static void decide(struct drun *dr)
{
	if (!dr->open)
		return;
	if (dr->r.ckdir < 0)
		watch_ckdir(dr);
	runner_scan(&dr->r, now_ns());
	runner_decide(&dr->r);
	track_stall(dr);
	/* a failed prune is tried again after its backoff */
	if (dr->r.prune_retry_at) {
		int64_t wait = dr->r.prune_retry_at - loop_now_ms();
		schedule_retry(dr, wait > 0 ? wait + 10 : 10);
	}
	/* not-ready checkpoints (settling, incomplete) are looked at again */
	for (size_t i = 0; i < dr->r.entries.n; i++) {
		if (!dr->r.entries.v[i].ready && !dr->r.entries.v[i].unreadable) {
			schedule_retry(dr, RETRY_MS);
			break;
		}
	}
}

static void save_log(struct drun *dr, bool now)
{
	struct ckptd_tail_pos tp;
	if (!dr->tail || !dr->r.records_dirty || (!now && loop_now_ms() - dr->saved_ms < SAVE_LOG_MS))
		return;
	tail_pos(dr->tail, &tp);
	runner_save_log(&dr->r, &tp);
	dr->saved_ms = loop_now_ms();
}

static void decide_cb(struct ckptd_loop *l, void *arg)
{
	struct drun *dr = arg;
	(void)l;
	dr->decide_timer = 0;
	decide(dr);
	save_log(dr, false);
	notify_status(dr->d);
}

/* ---- runs ---- */

static int run_start(struct ckptd_daemon *d, struct drun *dr, const struct ckptd_run *cfg)
{
	char path[PATH_MAX];
	*dr = (struct drun){ .d = d, .ck_watch = -1, .parent_watch = -1, .pins_watch = -1 };
	if (runner_open(&dr->r, cfg, d->cfg->state_dir, &d->log, d->o.dry_run) < 0)
		return -1;
	dr->open = true;
	dr->r.async = true;
	dr->r.on_child = on_child;
	dr->r.child_arg = dr;
	struct ckptd_tail_pos pos;
	bool resume = runner_load_log(&dr->r, &pos) == 0;
	dr->saved_ms = loop_now_ms();
	dr->tail = tail_new(d->loop, d->cfg->force_poll ? NULL : d->watch, cfg->metrics.path,
	                    d->cfg->poll_ms, &tail_ops, dr, &d->log);
	if (!dr->tail || tail_start(dr->tail, resume ? &pos : NULL) < 0) {
		log_errno(&d->log, CKPTD_LOG_ERROR, "%s: following %s", cfg->name, cfg->metrics.path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", d->cfg->state_dir, cfg->name);
	dr->pins_watch = watch_add(d->watch, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR, pins_event, dr);
	if (dr->pins_watch < 0)
		log_errno(&d->log, CKPTD_LOG_WARNING, "%s: watching %s for pins (rescanned every %d s)",
		          cfg->name, path, RESCAN_MS / 1000);
	watch_ckdir(dr);
	dr->rescan_timer = loop_timer(d->loop, RESCAN_MS, rescan_cb, dr);
	decide(dr); /* the start-up catch-up */
	return 0;
}

static void run_stop(struct ckptd_daemon *d, struct drun *dr)
{
	uint64_t timers[] = { dr->decide_timer, dr->retry_timer, dr->rescan_timer, dr->stall_timer };
	for (size_t i = 0; i < sizeof(timers) / sizeof(*timers); i++)
		loop_timer_cancel(d->loop, timers[i]);
	int watches[] = { dr->ck_watch, dr->parent_watch, dr->pins_watch };
	for (size_t i = 0; i < sizeof(watches) / sizeof(*watches); i++)
		if (watches[i] >= 0)
			watch_remove(d->watch, watches[i]);
	drop_children(d, dr);
	if (dr->open)
		save_log(dr, true);
	tail_free(dr->tail);
	dr->tail = NULL;
	if (dr->open && !d->o.dry_run)
		state_save(&dr->r.sd, &dr->r.st, NULL);
	runner_close(&dr->r);
	dr->open = false;
}

static int runs_start(struct ckptd_daemon *d)
{
	d->runs = calloc(d->cfg->nruns ? d->cfg->nruns : 1, sizeof(*d->runs));
	if (!d->runs)
		return -1;
	d->nruns = d->cfg->nruns;
	int failed = 0;
	for (size_t i = 0; i < d->nruns; i++) {
		if (run_start(d, &d->runs[i], &d->cfg->runs[i]) < 0) {
			failed++;
			run_stop(d, &d->runs[i]);
		}
	}
	return failed;
}

static void runs_stop(struct ckptd_daemon *d)
{
	for (size_t i = 0; i < d->nruns; i++)
		if (d->runs[i].open || d->runs[i].tail)
			run_stop(d, &d->runs[i]);
	free(d->runs);
	d->runs = NULL;
	d->nruns = 0;
}

/* ---- signals, reload, watchdog ---- */

static void reload(struct ckptd_daemon *d)
{
	struct ckptd_config *cfg = NULL;
	struct ckptd_diags diags = { 0 };
	log_msg(&d->log, CKPTD_LOG_NOTICE, "reloading %s", d->o.config_path);
	notify_reloading();
	if (config_load(d->o.config_path, &cfg, &diags) < 0) {
		for (size_t i = 0; i < diags.n; i++)
			log_msg(&d->log, CKPTD_LOG_ERROR, "%s:%u:%u: error: %s", diags.file ? diags.file : "",
			        diags.v[i].line, diags.v[i].column, diags.v[i].message);
		log_msg(&d->log, CKPTD_LOG_ERROR, "the new config is invalid: keeping the old one");
		diags_free(&diags);
		notify_send("READY=1");
		return;
	}
	diags_free(&diags);
	runs_stop(d);
	config_free(d->cfg);
	d->cfg = cfg;
	log_init(&d->log, "ckptd", d->o.verbose ? CKPTD_LOG_DEBUG : cfg->log_level);
	runs_start(d);
	notify_send("READY=1");
	notify_status(d);
}

static void signal_cb(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	struct ckptd_daemon *d = arg;
	struct signalfd_siginfo si;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			log_msg(&d->log, CKPTD_LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			loop_stop(l);
		}
	}
}

static void watchdog_cb(struct ckptd_loop *l, void *arg)
{
	struct ckptd_daemon *d = arg;
	/* from the loop itself: a stuck loop stops the pings */
	notify_send("WATCHDOG=1");
	loop_timer(l, d->watchdog_ms, watchdog_cb, d);
}

static int setup(struct ckptd_daemon *d)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0 || !(d->loop = loop_new()) || !(d->watch = watch_new(d->loop)))
		return -1;
	if (loop_add_fd(d->loop, d->sigfd, EPOLLIN, signal_cb, d) < 0)
		return -1;
	uint64_t usec = notify_watchdog_usec();
	if (usec) {
		d->watchdog_ms = (int64_t)(usec / 2000) > 0 ? (int64_t)(usec / 2000) : 1;
		loop_timer(d->loop, d->watchdog_ms, watchdog_cb, d);
	}
	return 0;
}

int daemon_main(const struct ckptd_daemon_opts *o, struct ckptd_config *cfg)
{
	struct ckptd_daemon d = { .o = *o, .cfg = cfg, .sigfd = -1 };
	log_init(&d.log, "ckptd", o->verbose ? CKPTD_LOG_DEBUG : cfg->log_level);
	if (setup(&d) < 0) {
		log_errno(&d.log, CKPTD_LOG_ERROR, "setting up the event loop");
		d.exit_code = EX_OSERR;
	} else {
		int failed = runs_start(&d);
		if (failed == (int)d.nruns && d.nruns > 0) {
			log_msg(&d.log, CKPTD_LOG_ERROR, "no run could be started");
			d.exit_code = EX_CANTCREAT;
		} else {
			log_msg(&d.log, CKPTD_LOG_INFO, "watching %zu run%s%s", d.nruns, d.nruns == 1 ? "" : "s",
			        o->dry_run ? " (dry run: changing nothing)" : "");
			notify_send("READY=1");
			notify_status(&d);
			if (loop_run(d.loop) < 0) {
				log_errno(&d.log, CKPTD_LOG_ERROR, "event loop");
				d.exit_code = EX_OSERR;
			}
			notify_send("STOPPING=1");
		}
	}
	runs_stop(&d);
	watch_free(d.watch);
	loop_free(d.loop);
	if (d.sigfd >= 0)
		close(d.sigfd);
	config_free(d.cfg);
	return d.exit_code;
}
