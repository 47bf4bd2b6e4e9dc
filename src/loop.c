/* loop.c - epoll over fds, one-shot timers on one timerfd.
 *
 * Registrations live in a table indexed by fd.  Each registration gets a
 * generation number, and the epoll cookie carries fd and generation: an
 * event of a batch whose fd was removed (or removed and added again) by an
 * earlier callback of the same batch no longer matches and is dropped.
 * Timers are a small unsorted array, scanned for the earliest: a daemon
 * holds a handful.  The timerfd is armed, with an absolute time, to the
 * earliest pending timer before each epoll_wait. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/loop.h"

#define LOOP_BATCH 64
#define TIMERFD_COOKIE UINT64_MAX

struct loop_reg {
	loop_fd_fn fn;
	void *arg;
	uint32_t gen;           /* 0: free slot */
};

struct loop_tmr {
	uint64_t id;
	int64_t when;           /* CLOCK_MONOTONIC ms */
	loop_timer_fn fn;
	void *arg;
};

struct ckptd_loop {
	int ep, tfd;
	struct loop_reg *regs;  /* indexed by fd */
	size_t nregs;
	uint32_t next_gen;
	struct loop_tmr *tmrs;
	size_t ntmrs, cap_tmrs;
	uint64_t next_id;
	int64_t armed;          /* deadline the timerfd is set to; -1: disarmed */
	bool stop;
};

int64_t loop_now_ms(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC cannot fail with a valid pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ckptd_loop *loop_new(void)
{
	struct ckptd_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ep = l->tfd = -1;
	l->next_gen = 1;
	l->next_id = 1;
	l->armed = -1;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		goto fail;
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->tfd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMERFD_COOKIE };
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev) < 0)
		goto fail;
	return l;
fail:;
	int saved = errno;
	loop_free(l);
	errno = saved;
	return NULL;
}

void loop_free(struct ckptd_loop *l)
{
	if (!l)
		return;
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->ep >= 0)
		close(l->ep);
	free(l->regs);
	free(l->tmrs);
	free(l);
}

int loop_add_fd(struct ckptd_loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	if (fd < 0 || !fn) {
		errno = EINVAL;
		return -1;
	}
	size_t i = (size_t)fd;
	if (i < l->nregs && l->regs[i].gen) {
		errno = EEXIST;
		return -1;
	}
	if (i >= l->nregs) {
		size_t n = l->nregs ? l->nregs : 16;
		while (n <= i)
			n *= 2;
		struct loop_reg *r = realloc(l->regs, n * sizeof(*r));
		if (!r)
			return -1;
		memset(r + l->nregs, 0, (n - l->nregs) * sizeof(*r));
		l->regs = r;
		l->nregs = n;
	}
	uint32_t gen = l->next_gen++;
	if (l->next_gen == 0)
		l->next_gen = 1;
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)gen << 32 | (uint32_t)fd };
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->regs[i] = (struct loop_reg){ .fn = fn, .arg = arg, .gen = gen };
	return 0;
}

int loop_del_fd(struct ckptd_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].gen) {
		errno = ENOENT;
		return -1;
	}
	/* forget it first: whatever epoll says, no callback for it again */
	l->regs[fd].gen = 0;
	if (epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -1;
	return 0;
}

uint64_t loop_timer(struct ckptd_loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return 0;
	}
	if (l->ntmrs == l->cap_tmrs) {
		size_t n = l->cap_tmrs ? l->cap_tmrs * 2 : 8;
		struct loop_tmr *t = realloc(l->tmrs, n * sizeof(*t));
		if (!t)
			return 0;
		l->tmrs = t;
		l->cap_tmrs = n;
	}
	int64_t now = loop_now_ms();
	if (delay_ms < 0)
		delay_ms = 0;
	if (delay_ms > INT64_MAX / 2 - now)
		delay_ms = INT64_MAX / 2 - now;     /* "never", without overflow */
	uint64_t id = l->next_id++;
	l->tmrs[l->ntmrs++] = (struct loop_tmr){
		.id = id, .when = now + delay_ms, .fn = fn, .arg = arg,
	};
	return id;
}

void loop_timer_cancel(struct ckptd_loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntmrs; i++) {
		if (l->tmrs[i].id == id) {
			l->tmrs[i] = l->tmrs[--l->ntmrs];
			return;
		}
	}
}

void loop_stop(struct ckptd_loop *l)
{
	l->stop = true;
}

/* The earliest timer (ties: the older id), or NULL. */
static struct loop_tmr *earliest(struct ckptd_loop *l)
{
	struct loop_tmr *best = NULL;
	for (size_t i = 0; i < l->ntmrs; i++) {
		struct loop_tmr *t = &l->tmrs[i];
		if (!best || t->when < best->when || (t->when == best->when && t->id < best->id))
			best = t;
	}
	return best;
}

static int arm(struct ckptd_loop *l)
{
	const struct loop_tmr *t = earliest(l);
	int64_t when = t ? t->when : -1;
	if (when == l->armed)
		return 0;
	struct itimerspec its = { 0 };
	if (t) {
		its.it_value.tv_sec = when / 1000;
		its.it_value.tv_nsec = when % 1000 * 1000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;   /* all zero would disarm */
	}
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -1;
	l->armed = when;
	return 0;
}

/* Fire the timers that are due, earliest first.  A timer added by a
 * callback waits for the next turn, even with delay 0. */
static void run_timers(struct ckptd_loop *l)
{
	uint64_t expirations;
	/* EAGAIN when already drained: harmless, the deadline is what counts */
	(void)!read(l->tfd, &expirations, sizeof(expirations));
	l->armed = -1;      /* the one-shot expired, or will be set again anyway */
	int64_t now = loop_now_ms();
	uint64_t last = l->next_id;
	for (;;) {
		struct loop_tmr *best = NULL;
		for (size_t i = 0; i < l->ntmrs; i++) {
			struct loop_tmr *t = &l->tmrs[i];
			if (t->when > now || t->id >= last)
				continue;
			if (!best || t->when < best->when || (t->when == best->when && t->id < best->id))
				best = t;
		}
		if (!best)
			return;
		struct loop_tmr fire = *best;
		*best = l->tmrs[--l->ntmrs];
		fire.fn(l, fire.arg);
	}
}

int loop_run(struct ckptd_loop *l)
{
	struct epoll_event evs[LOOP_BATCH];
	int rc = 0;
	while (!l->stop) {
		if (arm(l) < 0) {
			rc = -1;
			break;
		}
		int n = epoll_wait(l->ep, evs, LOOP_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t c = evs[i].data.u64;
			if (c == TIMERFD_COOKIE) {
				run_timers(l);
				continue;
			}
			int fd = (int)(uint32_t)c;
			uint32_t gen = (uint32_t)(c >> 32);
			if ((size_t)fd >= l->nregs || l->regs[fd].gen != gen)
				continue;   /* removed by an earlier callback of this batch */
			l->regs[fd].fn(l, fd, evs[i].events, l->regs[fd].arg);
		}
	}
	l->stop = false;
	return rc;
}
