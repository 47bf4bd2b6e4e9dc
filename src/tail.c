/* tail.c - follow one log like `tail -F`, and lose nothing.
 *
 * Two watches: the file (its inode: appends, attribute changes, moves)
 * and its directory (the name: created, moved in or out, deleted).  Any
 * news about the name reopens the path and compares dev/ino with the file
 * being read.  A different inode is a new file: the old descriptor is read
 * to its end first (a rotated log's last lines), then reset() and the new
 * one is read from 0.  The name going away alone changes nothing: a file
 * renamed away is still read until a new one takes its name; one that was
 * deleted is read to its end and closed.
 *
 * Every read first checks the file against what was delivered: a size
 * below the offset is a truncation, and a first min(offset, 4096) bytes
 * that no longer hash the same is a rewrite in place (Lightning writing
 * metrics.csv again with a new header); both restart at 0.
 *
 * One timer serves polling (no watch, the watch limit, or a filesystem
 * whose remote writers inotify cannot see) and the wait for a missing
 * directory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ckptd/tail.h"

#define TAIL_CHUNK (64 * 1024)
#define TAIL_PREFIX 4096
#define FNV_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE)
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_MOVE_SELF | IN_ONLYDIR)

struct ckptd_tail {
	struct ckptd_loop *loop;
	struct ckptd_watch *w;        /* NULL: polling only */
	char *path, *dir;
	const char *name;             /* in path */
	int64_t poll_ms;
	struct ckptd_tail_ops ops;
	void *arg;
	const struct ckptd_log *log;

	int fd;                       /* the file being read, or -1 */
	bool have_id;                 /* dev/ino: of fd, else of the last file or the pos */
	uint64_t dev, ino;
	uint64_t offset;              /* bytes delivered */
	uint64_t hash;                /* FNV-1a of the first min(offset, 4096) */
	bool resume;                  /* tail_start's pos not yet compared with a file */

	int h_file, h_dir;            /* watch handles, -1 when none */
	uint64_t timer;               /* 0 when none */
	bool started, polling, dir_missing, dirty;

	/* reported once each */
	bool odd_reported;
	uint64_t odd_dev, odd_ino;
	int open_errno;

	char *buf;                    /* TAIL_CHUNK */
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint32_t prefix_len(uint64_t offset)
{
	return offset < TAIL_PREFIX ? (uint32_t)offset : TAIL_PREFIX;
}

/* The filesystems whose writers inotify may not see, by statfs magic
 * (coreutils' list of remote ones); NULL for the rest. */
static const char *remote_fs(long magic)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{ 0x6969, "nfs" }, { 0x517B, "smb" }, { 0xFE534D42, "smb2" }, { 0xFF534D42, "cifs" },
		{ 0x65735546, "fuse" }, { 0x00C36400, "ceph" }, { 0x5346414F, "afs" },
		{ 0x6B414653, "kafs" }, { 0x47504653, "gpfs" }, { 0x794C7630, "overlayfs" },
		{ 0x73757245, "coda" }, { 0x7461636F, "ocfs2" }, { 0x01161970, "gfs2" },
		{ 0x0BD00BD0, "lustre" }, { 0xAAD7AAEA, "panfs" }, { 0xBEEFDEAD, "snfs" },
		{ 0x01021997, "9p" }, { 0xBACBACBC, "vmhgfs" }, { 0x61636673, "acfs" },
		{ 0x013111A8, "ibrix" }, { 0x7C7C6673, "prl_fs" }, { 0x564C, "ncp" },
	};
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)magic == fs[i].magic || ((unsigned long)magic & 0xFFFFFFFFUL) == fs[i].magic)
			return fs[i].name;
	return NULL;
}

/* ---- delivering ---- */

static void restart(struct ckptd_tail *t)
{
	t->offset = 0;
	t->hash = FNV_BASIS;
	t->dirty = true;
	if (t->ops.reset)
		t->ops.reset(t->arg);
}

static int deliver(struct ckptd_tail *t, const char *p, size_t n)
{
	if (t->offset < TAIL_PREFIX) {
		size_t k = TAIL_PREFIX - t->offset;
		t->hash = fnv(t->hash, p, n < k ? n : k);
	}
	t->offset += n;
	t->dirty = true;
	return t->ops.data(t->arg, p, n);
}

/* Do the first min(offset, 4096) bytes of fd hash as those delivered? */
static bool prefix_same(struct ckptd_tail *t, int fd)
{
	uint32_t want = prefix_len(t->offset);
	uint32_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, t->buf + got, want - got, got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errno(t->log, CKPTD_LOG_WARNING, "read %s", t->path);
			return false;
		}
		if (n == 0)
			return false;
		got += (uint32_t)n;
	}
	return fnv(FNV_BASIS, t->buf, want) == t->hash;
}

/* Read the open file to its end, after checking it is still what was
 * delivered. */
static void read_fd(struct ckptd_tail *t)
{
	struct stat st;
	if (fstat(t->fd, &st) < 0) {
		log_errno(t->log, CKPTD_LOG_WARNING, "fstat %s", t->path);
		return;
	}
	if ((uint64_t)st.st_size < t->offset) {
		log_msg(t->log, CKPTD_LOG_INFO, "%s: truncated, reading it again from the start",
		        t->path);
		restart(t);
	} else if (t->offset > 0 && !prefix_same(t, t->fd)) {
		log_msg(t->log, CKPTD_LOG_INFO, "%s: rewritten, reading it again from the start",
		        t->path);
		restart(t);
	}
	for (;;) {
		ssize_t n = pread(t->fd, t->buf, TAIL_CHUNK, (off_t)t->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errno(t->log, CKPTD_LOG_WARNING, "read %s", t->path);
			return;
		}
		if (n == 0 || deliver(t, t->buf, (size_t)n) < 0)
			return;
	}
}

/* ---- watches and the timer ---- */

static void on_file(void *arg, const struct inotify_event *ev);
static void on_dir(void *arg, const struct inotify_event *ev);
static void on_timer(struct ckptd_loop *l, void *arg);

static void unwatch(struct ckptd_tail *t, int *h)
{
	if (*h >= 0)
		watch_remove(t->w, *h);
	*h = -1;
}

static void go_polling(struct ckptd_tail *t, const char *why)
{
	if (t->polling)
		return;
	t->polling = true;
	log_msg(t->log, CKPTD_LOG_NOTICE, "polling %s every %" PRId64 " ms: %s", t->path,
	        t->poll_ms, why);
	unwatch(t, &t->h_file);
	unwatch(t, &t->h_dir);
}

/* A failed watch_add: the watch limit and other failures poll; a
 * missing path waits. */
static void watch_failed(struct ckptd_tail *t, const char *what)
{
	if (errno == ENOSPC || errno == ENOMEM) {
		go_polling(t, "the inotify watch limit is reached (raise fs.inotify.max_user_watches)");
	} else {
		char why[256];
		snprintf(why, sizeof(why), "cannot watch %s: %s", what, strerror(errno));
		go_polling(t, why);
	}
}

static void watch_dir(struct ckptd_tail *t)
{
	if (t->polling || t->h_dir >= 0)
		return;
	int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int h = -1;
	if (dfd >= 0) {
		struct statfs sfs;
		int rc = fstatfs(dfd, &sfs);
		int saved = errno;
		close(dfd);
		const char *fs = rc == 0 ? remote_fs((long)sfs.f_type) : NULL;
		if (rc < 0) {
			errno = saved;
			log_errno(t->log, CKPTD_LOG_WARNING, "fstatfs %s", t->dir);
		} else if (fs) {
			char why[128];
			snprintf(why, sizeof(why), "%s filesystem: inotify does not see remote writes", fs);
			go_polling(t, why);
			return;
		}
		h = watch_add(t->w, t->dir, DIR_MASK, on_dir, t);
	}
	if (h < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		if (!t->dir_missing)
			log_msg(t->log, CKPTD_LOG_INFO, "waiting for directory %s", t->dir);
		t->dir_missing = true;
		return;
	}
	if (h < 0) {
		watch_failed(t, t->dir);
		return;
	}
	t->h_dir = h;
	t->dir_missing = false;
}

static void watch_file(struct ckptd_tail *t)
{
	if (t->polling || t->h_file >= 0 || t->fd < 0)
		return;
	int h = watch_add(t->w, t->path, FILE_MASK, on_file, t);
	if (h >= 0)
		t->h_file = h;
	else if (errno != ENOENT)  /* gone already: its directory says so */
		watch_failed(t, t->path);
}

/* The timer runs while polling, and while the directory is not watched. */
static int schedule(struct ckptd_tail *t)
{
	bool need = t->started && (t->polling || t->h_dir < 0);
	if (need && !t->timer) {
		t->timer = loop_timer(t->loop, t->poll_ms, on_timer, t);
		if (!t->timer) {
			log_errno(t->log, CKPTD_LOG_ERROR, "%s: timer", t->path);
			return -1;
		}
	} else if (!need && t->timer) {
		loop_timer_cancel(t->loop, t->timer);
		t->timer = 0;
	}
	return 0;
}

/* ---- the name ---- */

static void close_fd(struct ckptd_tail *t)
{
	unwatch(t, &t->h_file);
	close(t->fd);
	t->fd = -1;
}

/* Nothing readable at the name: read the old file to its end, and close
 * it if it was deleted (a renamed one is still written to, maybe). */
static void name_gone(struct ckptd_tail *t)
{
	if (t->fd < 0)
		return;
	read_fd(t);
	struct stat st;
	if (fstat(t->fd, &st) < 0 || st.st_nlink == 0)
		close_fd(t);
}

static void adopt(struct ckptd_tail *t, int fd, const struct stat *st)
{
	if (t->resume) {
		t->resume = false;
		bool same = t->have_id && (uint64_t)st->st_dev == t->dev &&
		            (uint64_t)st->st_ino == t->ino && (uint64_t)st->st_size >= t->offset &&
		            prefix_same(t, fd);
		if (same) {
			log_msg(t->log, CKPTD_LOG_INFO, "%s: resuming at byte %" PRIu64, t->path,
			        t->offset);
		} else {
			log_msg(t->log, CKPTD_LOG_INFO, "%s: not the file read before, reading it from the start",
			        t->path);
			restart(t);
		}
	} else if (t->offset > 0) {
		log_msg(t->log, CKPTD_LOG_INFO, "%s: a new file, reading it from the start", t->path);
		restart(t);
	}
	t->fd = fd;
	t->have_id = true;
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	watch_file(t);      /* before reading: no append can fall between */
	read_fd(t);
}

static const char *kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a fifo" : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* Open the path again and act on what is there now. */
static void look(struct ckptd_tail *t)
{
	/* O_NONBLOCK: a fifo at the path must not block the open */
	int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		log_errno(t->log, CKPTD_LOG_WARNING, "fstat %s", t->path);
		close(fd);
		if (t->fd >= 0)
			read_fd(t);
		return;
	}
	if (fd < 0) {
		if (errno != ENOENT && errno != ENOTDIR && errno != t->open_errno)
			log_errno(t->log, CKPTD_LOG_WARNING, "open %s", t->path);
		t->open_errno = errno == ENOENT || errno == ENOTDIR ? 0 : errno;
		name_gone(t);
		return;
	}
	t->open_errno = 0;
	if (!S_ISREG(st.st_mode)) {
		if (!t->odd_reported || t->odd_dev != (uint64_t)st.st_dev ||
		    t->odd_ino != (uint64_t)st.st_ino) {
			log_msg(t->log, CKPTD_LOG_WARNING, "%s is %s, not a log: ignored until it changes",
			        t->path, kind(st.st_mode));
			t->odd_reported = true;
			t->odd_dev = (uint64_t)st.st_dev;
			t->odd_ino = (uint64_t)st.st_ino;
		}
		close(fd);
		name_gone(t);
		return;
	}
	t->odd_reported = false;
	if (t->fd >= 0 && (uint64_t)st.st_dev == t->dev && (uint64_t)st.st_ino == t->ino) {
		close(fd);
		watch_file(t);
		read_fd(t);
		return;
	}
	if (t->fd >= 0) {
		read_fd(t);     /* drain: what was appended before the switch is not lost */
		close_fd(t);
	}
	adopt(t, fd, &st);
}

/* After a batch: the timer as needed, then idle() once if anything came.
 * idle() is the last thing done. */
static void finish(struct ckptd_tail *t)
{
	(void)schedule(t);
	if (t->dirty) {
		t->dirty = false;
		if (t->ops.idle)
			t->ops.idle(t->arg);
	}
}

/* ---- events ---- */

static void on_file(void *arg, const struct inotify_event *ev)
{
	struct ckptd_tail *t = arg;
	if (!ev) {
		tail_check(t);
		return;
	}
	if (ev->mask & (IN_IGNORED | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_IGNORED)
			t->h_file = -1;     /* the handle is gone with the kernel watch */
		look(t);
	} else if (t->fd >= 0) {
		read_fd(t);
	}
	finish(t);
}

static void on_dir(void *arg, const struct inotify_event *ev)
{
	struct ckptd_tail *t = arg;
	if (!ev) {
		tail_check(t);
		return;
	}
	if (ev->mask & (IN_IGNORED | IN_MOVE_SELF)) {
		/* the directory went, or moved: the path leads elsewhere now */
		if (ev->mask & IN_IGNORED)
			t->h_dir = -1;
		else
			unwatch(t, &t->h_dir);
		watch_dir(t);
		look(t);
	} else if (ev->len && strcmp(ev->name, t->name) == 0) {
		look(t);
	}
	finish(t);
}

static void on_timer(struct ckptd_loop *l, void *arg)
{
	(void)l;
	struct ckptd_tail *t = arg;
	t->timer = 0;
	watch_dir(t);
	look(t);
	finish(t);
}

/* ---- the interface ---- */

struct ckptd_tail *tail_new(struct ckptd_loop *l, struct ckptd_watch *w, const char *path,
                            int64_t poll_ms, const struct ckptd_tail_ops *ops, void *arg,
                            const struct ckptd_log *log)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!l || !path || path[0] != '/' || !slash[1] || poll_ms <= 0 || !ops || !ops->data ||
	    !log) {
		errno = EINVAL;
		return NULL;
	}
	struct ckptd_tail *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->path = strdup(path);
	t->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	t->buf = malloc(TAIL_CHUNK);
	if (!t->path || !t->dir || !t->buf) {
		free(t->path);
		free(t->dir);
		free(t->buf);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->name = t->path + (slash - path) + 1;
	t->loop = l;
	t->w = w;
	t->poll_ms = poll_ms;
	t->ops = *ops;
	t->arg = arg;
	t->log = log;
	t->fd = t->h_file = t->h_dir = -1;
	t->hash = FNV_BASIS;
	return t;
}

int tail_start(struct ckptd_tail *t, const struct ckptd_tail_pos *pos)
{
	if (t->started) {
		errno = EALREADY;
		return -1;
	}
	t->started = true;
	if (pos && pos->valid) {
		t->resume = true;
		/* a pos that does not hold together matches no file */
		t->have_id = pos->prefix_len == prefix_len(pos->offset);
		t->dev = pos->dev;
		t->ino = pos->ino;
		t->offset = pos->offset;
		t->hash = pos->prefix_hash;
	}
	if (!t->w)
		go_polling(t, "inotify is not in use");
	watch_dir(t);
	look(t);            /* after the watches: what happened before them */
	int rc = schedule(t);
	int saved = errno;
	finish(t);
	errno = saved;
	return rc;
}

void tail_pos(const struct ckptd_tail *t, struct ckptd_tail_pos *out)
{
	*out = (struct ckptd_tail_pos){
		.valid = t->have_id, .dev = t->dev, .ino = t->ino, .offset = t->offset,
		.prefix_len = prefix_len(t->offset), .prefix_hash = t->hash,
	};
}

/* Everything again, the watches too: an overflow may have swallowed the
 * IN_IGNORED of a watch that is gone.  The file watch comes back in
 * look(), once the name is known to lead to the file being read. */
void tail_check(struct ckptd_tail *t)
{
	if (!t->started)
		return;
	unwatch(t, &t->h_file);
	unwatch(t, &t->h_dir);
	watch_dir(t);
	look(t);
	finish(t);
}

bool tail_polling(const struct ckptd_tail *t)
{
	return t->polling;
}

void tail_free(struct ckptd_tail *t)
{
	if (!t)
		return;
	if (t->timer)
		loop_timer_cancel(t->loop, t->timer);
	unwatch(t, &t->h_file);
	unwatch(t, &t->h_dir);
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	free(t->path);
	free(t->dir);
	free(t);
}

uint64_t tail_prefix_hash(const char *p, size_t n)
{
	return fnv(FNV_BASIS, p, n);
}

const char *tail_remote_fs(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 ? remote_fs((long)sfs.f_type) : NULL;
}
