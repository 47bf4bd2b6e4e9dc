/* ckptdir.c - one checkpoint directory: entries and their readiness. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckptd/ckptdir.h"
#include "ckptd/pattern.h"
#include "ckptd/verify.h"

#define DEFAULT_DIR_SETTLE_MS 5000
#define MAX_DEPTH 32

bool ckptdir_ignored_name(const char *name)
{
	static const char *const temp_suffixes[] = { ".tmp", ".part", ".partial", ".incomplete" };
	size_t len = strlen(name);
	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(temp_suffixes) / sizeof(*temp_suffixes); i++) {
		size_t sl = strlen(temp_suffixes[i]);
		if (len >= sl && strcmp(name + len - sl, temp_suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Sum of regular file sizes and newest mtime under an open directory;
 * symlinks are counted as entries but never followed. */
static int walk_dir(int fd, int depth, int64_t *size, int64_t *newest)
{
	if (depth > MAX_DEPTH) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* removed while we looked */
				continue;
			rc = -1;
			break;
		}
		if (mtime_ns(&st) > *newest)
			*newest = mtime_ns(&st);
		if (S_ISREG(st.st_mode)) {
			*size += st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || walk_dir(sub, depth + 1, size, newest) < 0) {
				rc = -1;
				break;
			}
		}
		errno = 0;
	}
	if (rc == 0 && errno) /* readdir failed */
		rc = -1;
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

static void judge_dir(int dirfd, const struct ckptd_run *run, int64_t now_ns, struct ckptd_entry *e)
{
	int fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || walk_dir(fd, 0, &e->size, &e->mtime_ns) < 0) {
		e->unreadable = true;
		snprintf(e->why, sizeof(e->why), "cannot read: %s", strerror(errno));
		return;
	}
	if (run->checkpoints.ready == CKPTD_READY_MARKER) {
		struct stat st;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", e->name, run->checkpoints.marker);
		if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			e->ready = true;
		} else {
			snprintf(e->why, sizeof(e->why), "no %s marker yet", run->checkpoints.marker);
		}
		return;
	}
	if (run->checkpoints.ready == CKPTD_READY_CLOSE) {
		e->ready = true; /* directories are not "closed": take them as they are */
		return;
	}
	int64_t settle = run->checkpoints.ready == CKPTD_READY_SETTLE ? run->checkpoints.settle_ms
	                                                               : DEFAULT_DIR_SETTLE_MS;
	e->ready = now_ns - e->mtime_ns >= settle * 1000000;
	if (!e->ready)
		snprintf(e->why, sizeof(e->why), "changed less than %lld ms ago", (long long)settle);
}

static void judge_file(int dirfd, const struct ckptd_run *run, int64_t now_ns, struct ckptd_entry *e)
{
	if (run->checkpoints.ready == CKPTD_READY_MARKER) {
		snprintf(e->why, sizeof(e->why), "a file cannot hold a marker");
		return;
	}
	if (run->checkpoints.ready == CKPTD_READY_SETTLE &&
	    now_ns - e->mtime_ns < run->checkpoints.settle_ms * 1000000) {
		snprintf(e->why, sizeof(e->why), "changed less than %lld ms ago",
		         (long long)run->checkpoints.settle_ms);
		return;
	}
	if (e->size == 0) { /* created, not written yet: no format can vouch for it */
		snprintf(e->why, sizeof(e->why), "empty");
		return;
	}
	if (!run->checkpoints.verify) {
		e->ready = true;
		return;
	}
	enum ckptd_verdict v;
	char why[80] = "";
	if (verify_file_at(dirfd, e->name, &v, why, sizeof(why)) < 0) {
		e->unreadable = true;
		snprintf(e->why, sizeof(e->why), "cannot read: %s", strerror(errno));
		return;
	}
	e->ready = v != CKPTD_VERIFY_INCOMPLETE;
	if (!e->ready)
		snprintf(e->why, sizeof(e->why), "incomplete: %s", why);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ckptd_entry *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int add_entry(struct ckptd_entries *out, size_t *cap, const char *name, int64_t key,
                     const struct stat *st)
{
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ckptd_entry *v = realloc(out->v, ncap * sizeof(*v));
		if (!v)
			return -1;
		out->v = v;
		*cap = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -1;
	out->v[out->n++] = (struct ckptd_entry){
		.name = copy, .key = key, .is_dir = S_ISDIR(st->st_mode),
		.size = S_ISREG(st->st_mode) ? st->st_size : 0, .mtime_ns = mtime_ns(st),
	};
	return 0;
}

int ckptdir_scan(int dirfd, const struct ckptd_run *run, int64_t now_ns, struct ckptd_entries *out)
{
	out->v = NULL;
	out->n = 0;
	size_t cap = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d))) {
		int64_t key;
		struct stat st;
		if (ckptdir_ignored_name(de->d_name) ||
		    !pattern_match(run->checkpoints.pattern, run->metrics.key, de->d_name, &key)) {
			errno = 0;
			continue;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			errno = 0; /* vanished meanwhile */
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			errno = 0; /* symlinks and the like are never checkpoints */
			continue;
		}
		if (add_entry(out, &cap, de->d_name, key, &st) < 0) {
			rc = -1;
			break;
		}
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = -1;
	int saved = errno;
	closedir(d);
	if (rc < 0) {
		ckptdir_free(out);
		errno = saved;
		return -1;
	}
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].is_dir)
			judge_dir(dirfd, run, now_ns, &out->v[i]);
		else
			judge_file(dirfd, run, now_ns, &out->v[i]);
	}
	if (out->n > 1) /* qsort's base must not be NULL, even for 0 */
		qsort(out->v, out->n, sizeof(*out->v), cmp_entry);
	return 0;
}

void ckptdir_free(struct ckptd_entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

const struct ckptd_entry *ckptdir_find(const struct ckptd_entries *e, int64_t key)
{
	const struct ckptd_entry *best = NULL;
	for (size_t i = 0; i < e->n; i++) {
		const struct ckptd_entry *x = &e->v[i];
		if (x->key == key && x->ready && (!best || x->mtime_ns > best->mtime_ns))
			best = x;
	}
	return best;
}
