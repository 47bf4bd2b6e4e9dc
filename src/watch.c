/* watch.c - one inotify fd, shared watch descriptors, subscribers.
 *
 * The registry is a flat array of subscriptions, each naming its wd: a
 * daemon holds a few dozen at most, so a scan is the simplest correct map
 * from wd to its subscribers.  Subscribers may add and remove from inside
 * their callbacks: a removal only marks the entry dead while events are
 * being handed out, and the array is compacted when dispatch is over;
 * additions append, and entries are always reached by index, never by a
 * pointer kept across a callback. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ckptd/watch.h"

struct watch_sub {
	int handle;
	int wd;
	uint32_t mask;
	watch_fn fn;
	void *arg;
	bool live;
};

struct ckptd_watch {
	struct ckptd_loop *loop;
	int fd;
	struct watch_sub *subs;
	size_t nsubs, cap;
	int next_handle;
	unsigned depth;        /* > 0 while dispatching */
};

/* Handed on whatever the subscriber's mask. */
#define WATCH_ALWAYS (IN_IGNORED | IN_Q_OVERFLOW | IN_UNMOUNT)
/* Flags of inotify_add_watch that are not events. */
#define WATCH_FLAGS (IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD | IN_ONESHOT)

static void on_readable(struct ckptd_loop *l, int fd, uint32_t events, void *arg);

struct ckptd_watch *watch_new(struct ckptd_loop *l)
{
	struct ckptd_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->loop = l;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		goto fail;
	if (loop_add_fd(l, w->fd, EPOLLIN, on_readable, w) < 0)
		goto fail;
	return w;
fail:;
	int saved = errno;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	errno = saved;
	return NULL;
}

void watch_free(struct ckptd_watch *w)
{
	if (!w)
		return;
	/* closing the inotify fd drops every kernel watch */
	(void)loop_del_fd(w->loop, w->fd);
	close(w->fd);
	free(w->subs);
	free(w);
}

static bool wd_in_use(const struct ckptd_watch *w, int wd)
{
	for (size_t i = 0; i < w->nsubs; i++)
		if (w->subs[i].live && w->subs[i].wd == wd)
			return true;
	return false;
}

int watch_add(struct ckptd_watch *w, const char *path, uint32_t mask, watch_fn fn, void *arg)
{
	if (!fn || !(mask & ~(uint32_t)WATCH_FLAGS)) {
		errno = EINVAL;
		return -1;
	}
	if (w->next_handle == INT_MAX) {
		errno = ENOSPC;
		return -1;
	}
	/* room first, so that a kernel watch is never left without its entry */
	if (w->nsubs == w->cap) {
		size_t n = w->cap ? w->cap * 2 : 8;
		struct watch_sub *s = realloc(w->subs, n * sizeof(*s));
		if (!s)
			return -1;
		w->subs = s;
		w->cap = n;
	}
	/* IN_MASK_ADD: the kernel ORs this mask into the inode's existing watch
	 * (same wd), so the other subscribers keep their events */
	int wd = inotify_add_watch(w->fd, path, mask | IN_MASK_ADD);
	if (wd < 0)
		return -1;
	int h = w->next_handle++;
	w->subs[w->nsubs++] = (struct watch_sub){
		.handle = h, .wd = wd, .mask = mask & ~(uint32_t)WATCH_FLAGS, .fn = fn, .arg = arg,
		.live = true,
	};
	return h;
}

static void compact(struct ckptd_watch *w)
{
	size_t j = 0;
	for (size_t i = 0; i < w->nsubs; i++)
		if (w->subs[i].live)
			w->subs[j++] = w->subs[i];
	w->nsubs = j;
}

void watch_remove(struct ckptd_watch *w, int handle)
{
	for (size_t i = 0; i < w->nsubs; i++) {
		struct watch_sub *s = &w->subs[i];
		if (!s->live || s->handle != handle)
			continue;
		s->live = false;
		/* EINVAL: the kernel dropped the watch already and its IN_IGNORED
		 * is still queued; nothing is left to remove */
		if (!wd_in_use(w, s->wd))
			(void)inotify_rm_watch(w->fd, s->wd);
		if (!w->depth)
			compact(w);
		return;
	}
}

/* Hand one event to its subscribers; only those present when it arrived. */
static void dispatch(struct ckptd_watch *w, const struct inotify_event *ev)
{
	size_t n = w->nsubs;
	if (ev->mask & IN_Q_OVERFLOW) {
		for (size_t i = 0; i < n; i++)
			if (w->subs[i].live)
				w->subs[i].fn(w->subs[i].arg, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct watch_sub s = w->subs[i];
		if (!s.live || s.wd != ev->wd || !(ev->mask & (s.mask | WATCH_ALWAYS)))
			continue;
		s.fn(s.arg, ev);
	}
	if (ev->mask & IN_IGNORED) {
		/* the kernel watch is gone, and so are its subscriptions; one a
		 * callback added just now is a new kernel watch, even if its wd
		 * number came round again */
		for (size_t i = 0; i < n; i++)
			if (w->subs[i].wd == ev->wd)
				w->subs[i].live = false;
	}
}

static void on_readable(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	struct ckptd_watch *w = arg;
	_Alignas(struct inotify_event) char buf[4096 + sizeof(struct inotify_event) + NAME_MAX + 1];
	w->depth++;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;      /* EAGAIN: drained; anything else cannot be helped here */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			dispatch(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (--w->depth == 0)
		compact(w);
}
