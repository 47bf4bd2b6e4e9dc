/* tail.h - follow one metrics log like `tail -F`, and better.
 *
 * The file may not exist yet (its directory is watched), be appended in
 * pieces, truncated, rewritten from the start in place (Lightning rewrites
 * metrics.csv with a new header: the same inode, new first bytes),
 * replaced by rename, or rotated (renamed away and recreated).  Nothing
 * appended is missed: on a rotation the old file is drained before the new
 * one is read; nothing is delivered twice: a replaced or rewritten file is
 * announced with reset() and delivered again from byte 0.  A file is
 * "the same" when its dev/ino match and its first bytes (up to 4 KiB of
 * what was delivered) hash the same.  Where inotify cannot serve (the
 * watch limit, or a network/FUSE filesystem whose remote writes inotify
 * never sees: statfs magic as coreutils tail checks it), it polls every
 * poll_ms and logs that it does. */
#ifndef CKPTD_TAIL_H
#define CKPTD_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/log.h"
#include "ckptd/loop.h"
#include "ckptd/watch.h"

struct ckptd_tail;

/* Where reading got to: enough to resume after a restart. */
struct ckptd_tail_pos {
	bool valid;
	uint64_t dev, ino;
	uint64_t offset;        /* bytes delivered */
	uint32_t prefix_len;    /* min(offset, 4096) */
	uint64_t prefix_hash;   /* FNV-1a of those first bytes */
};

struct ckptd_tail_ops {
	/* New bytes, in file order.  Return 0, or -1 to stop reading (ENOMEM). */
	int (*data)(void *arg, const char *buf, size_t len);
	/* The stream restarts at byte 0 (replaced, truncated, rewritten). */
	void (*reset)(void *arg);
	/* Called after a batch of data/reset calls: a good time to decide. */
	void (*idle)(void *arg);
};

/* path absolute.  w may be NULL (polling only).  NULL with errno. */
struct ckptd_tail *tail_new(struct ckptd_loop *l, struct ckptd_watch *w, const char *path,
                            int64_t poll_ms, const struct ckptd_tail_ops *ops, void *arg,
                            const struct ckptd_log *log);
/* Start following; with a valid pos for the same file, continue after
 * pos->offset, else from 0 (calling reset first if pos was valid). */
int tail_start(struct ckptd_tail *t, const struct ckptd_tail_pos *pos);
void tail_pos(const struct ckptd_tail *t, struct ckptd_tail_pos *out);
/* Look at the file now (after an overflow, or for tests). */
void tail_check(struct ckptd_tail *t);
bool tail_polling(const struct ckptd_tail *t);
/* The name of the remote or FUSE filesystem path is on ("nfs", "fuse",
 * ...), whose remote writes inotify never sees; NULL for a local one (or
 * when statfs fails). */
const char *tail_remote_fs(const char *path);

/* The hash tail_pos uses for the first bytes of a file (FNV-1a 64). */
uint64_t tail_prefix_hash(const char *p, size_t n);
void tail_free(struct ckptd_tail *t);

#endif
