/* watch.h - one inotify fd shared by every subscriber.
 *
 * inotify gives one watch descriptor per inode per inotify fd: two
 * subscribers watching the same directory (a run whose log and checkpoints
 * share a dir) must share it, with the union of their masks.  This module
 * keeps that registry and hands each event to the subscribers of its
 * watch whose mask matches.  IN_Q_OVERFLOW is handed to every subscriber
 * with ev == NULL: events were lost, rescan everything.  IN_IGNORED (the
 * watched inode went away) is handed on and the subscription is dropped:
 * the subscriber re-adds its watch when the path is back. */
#ifndef CKPTD_WATCH_H
#define CKPTD_WATCH_H

#include <stdint.h>
#include <sys/inotify.h>

#include "ckptd/loop.h"

struct ckptd_watch;

/* ev NULL: queue overflow, rescan.  Called from the loop. */
typedef void (*watch_fn)(void *arg, const struct inotify_event *ev);

/* Registers the inotify fd with the loop.  NULL with errno. */
struct ckptd_watch *watch_new(struct ckptd_loop *l);
void watch_free(struct ckptd_watch *w);

/* Watch path for mask (IN_ONLYDIR / IN_DONT_FOLLOW honoured) on behalf of
 * fn(arg).  Returns a subscription handle >= 0, or -1 with errno: ENOENT
 * (path missing: watch its parent), ENOSPC/ENOMEM (the watch limit: poll
 * instead, and say so), EACCES. */
int watch_add(struct ckptd_watch *w, const char *path, uint32_t mask, watch_fn fn, void *arg);
/* Drop a subscription (the kernel watch goes when its last one does). */
void watch_remove(struct ckptd_watch *w, int handle);

#endif
