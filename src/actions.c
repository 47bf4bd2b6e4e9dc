/* actions.c - promote / prune / stop, all through directory fds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckptd/actions.h"
#include "ckptd/archive.h"
#include "ckptd/atomic.h"

/* Open (creating it, 0755, when missing) an absolute directory. */
static int open_dir(const char *path, bool create)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd;
}

bool action_link_is(const struct ckptd_actx *a, const struct ckptd_entry *e)
{
	const struct ckptd_promote *p = &a->run->promote;
	struct stat ls, es;
	char buf[PATH_MAX];
	switch (p->method) {
	case CKPTD_PROMOTE_SYMLINK: {
		ssize_t n = readlinkat(a->ckdir, p->link, buf, sizeof(buf) - 1);
		if (n < 0)
			return false;
		buf[n] = '\0';
		return strcmp(buf, e->name) == 0;
	}
	case CKPTD_PROMOTE_HARDLINK:
		return fstatat(a->ckdir, p->link, &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		       fstatat(a->ckdir, e->name, &es, AT_SYMLINK_NOFOLLOW) == 0 &&
		       ls.st_dev == es.st_dev && ls.st_ino == es.st_ino;
	case CKPTD_PROMOTE_COPY:
		return false; /* the caller's state knows what was copied */
	}
	return false;
}

static int write_manifest(int dirfd, const char *name, struct json_object *m)
{
	const char *text = json_object_to_json_string_ext(
		m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *buf = malloc(len + 2);
	if (!buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\n';
	int rc = atomic_write_at(dirfd, name, buf, len + 1, 0644);
	free(buf);
	return rc;
}

int action_promote(const struct ckptd_actx *a, const struct ckptd_entry *e,
                   struct json_object *manifest, char *err, size_t errlen)
{
	const struct ckptd_promote *p = &a->run->promote;
	static const char *const how[] = { "symlink", "hardlink", "copy" };
	int rc = -1, outdir = a->ckdir, saved;
	if (a->dry_run) {
		log_msg(a->log, CKPTD_LOG_NOTICE, "%s: would promote %s (%s %s)", a->run->name, e->name,
		        how[p->method], p->link);
		json_object_put(manifest);
		return 0;
	}
	switch (p->method) {
	case CKPTD_PROMOTE_SYMLINK:
		/* the bare name: the directory stays relocatable */
		rc = atomic_symlink_at(a->ckdir, e->name, p->link);
		break;
	case CKPTD_PROMOTE_HARDLINK:
		if (e->is_dir) {
			errno = EISDIR;
			snprintf(err, errlen, "%s is a directory: it cannot be hardlinked "
			         "(use method: symlink or copy)", e->name);
			json_object_put(manifest);
			return -1;
		}
		rc = atomic_hardlink_at(a->ckdir, e->name, p->link);
		break;
	case CKPTD_PROMOTE_COPY: {
		struct ckptd_archive_stats st;
		outdir = open_dir(p->to, true);
		if (outdir >= 0)
			rc = archive_copy_at(a->ckdir, e->name, outdir, p->link, &st);
		break;
	}
	}
	if (rc == 0 && p->manifest)
		rc = write_manifest(outdir, p->manifest, manifest);
	saved = errno;
	if (rc < 0)
		snprintf(err, errlen, "promoting %s as %s: %s", e->name, p->link, strerror(saved));
	if (outdir >= 0 && outdir != a->ckdir)
		close(outdir);
	json_object_put(manifest);
	errno = saved;
	return rc;
}

/* Still the entry we decided about: same type, not swapped for a link. */
static bool still_there(const struct ckptd_actx *a, const struct ckptd_entry *e)
{
	struct stat st;
	if (fstatat(a->ckdir, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return e->is_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

static int prune_move(const struct ckptd_actx *a, const struct ckptd_entry *e, int archdir)
{
	if (renameat(a->ckdir, e->name, archdir, e->name) == 0)
		return fsync(archdir) == 0 && fsync(a->ckdir) == 0 ? 0 : -1;
	if (errno != EXDEV)
		return -1;
	/* another filesystem: a durable copy first, then the original goes */
	struct ckptd_archive_stats st;
	if (archive_copy_at(a->ckdir, e->name, archdir, e->name, &st) < 0)
		return -1;
	return archive_remove_at(a->ckdir, e->name);
}

int action_prune(const struct ckptd_actx *a, const struct ckptd_entry *e,
                 uint64_t *bytes, char *archive, size_t archlen, char *err, size_t errlen)
{
	const struct ckptd_retain *r = &a->run->retain;
	static const char *const what[] = { "none", "delete", "compress", "move" };
	*bytes = 0;
	archive[0] = '\0';
	if (a->dry_run || r->action == CKPTD_RETAIN_NONE) {
		log_msg(a->log, CKPTD_LOG_NOTICE, "%s: would prune %s (%s)", a->run->name, e->name,
		        what[r->action]);
		return 0;
	}
	if (!still_there(a, e)) {
		errno = ESTALE;
		snprintf(err, errlen, "%s changed since it was examined; left alone", e->name);
		return -1;
	}
	int rc = -1, archdir = -1;
	if (r->action == CKPTD_RETAIN_DELETE) {
		rc = archive_remove_at(a->ckdir, e->name);
	} else if ((archdir = open_dir(r->archive, true)) >= 0) {
		if (r->action == CKPTD_RETAIN_COMPRESS) {
			struct ckptd_archive_stats st = { 0 };
			rc = archive_compress_at(a->ckdir, e->name, archdir, r->level, archive, archlen, &st);
			/* the archive is durable now: only then the original goes */
			if (rc == 0)
				rc = archive_remove_at(a->ckdir, e->name);
			if (rc == 0 && st.bytes_in > st.bytes_out)
				*bytes = st.bytes_in - st.bytes_out;
		} else {
			rc = prune_move(a, e, archdir);
			if (rc == 0)
				snprintf(archive, archlen, "%s", e->name);
		}
	}
	int saved = errno;
	if (archdir >= 0)
		close(archdir);
	if (rc == 0 && r->action == CKPTD_RETAIN_DELETE)
		*bytes = (uint64_t)e->size;
	if (rc < 0)
		snprintf(err, errlen, "%s %s: %s", what[r->action], e->name, strerror(saved));
	errno = saved;
	return rc;
}

static int touch_stop(const struct ckptd_actx *a, const char *reason)
{
	char dir[PATH_MAX], base[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", a->run->early_stop.touch);
	snprintf(base, sizeof(base), "%s", a->run->early_stop.touch);
	int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(reason);
	int rc = atomic_write_at(fd, basename(base), reason, len, 0644);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int signal_job(const struct ckptd_actx *a)
{
	const struct ckptd_early_stop *es = &a->run->early_stop;
	char *text = read_small_at(AT_FDCWD, es->pidfile, 64, NULL);
	if (!text)
		return -1;
	char *end;
	errno = 0;
	long pid = strtol(text, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\r')
		end++;
	bool bad = errno || end == text || *end || pid <= 1 || pid > INT32_MAX;
	free(text);
	if (bad) { /* never signal 0, -1 or init: that would hit far more than the job */
		errno = EINVAL;
		return -1;
	}
	return kill((pid_t)pid, es->signal);
}

int action_stop(const struct ckptd_actx *a, const char *reason_json)
{
	const struct ckptd_early_stop *es = &a->run->early_stop;
	int failed = 0;
	if (a->dry_run) {
		if (es->touch)
			log_msg(a->log, CKPTD_LOG_NOTICE, "%s: would stop: touch %s", a->run->name, es->touch);
		if (es->signal)
			log_msg(a->log, CKPTD_LOG_NOTICE, "%s: would stop: signal %d to the pid in %s",
			        a->run->name, es->signal, es->pidfile);
		return 0;
	}
	if (es->touch && touch_stop(a, reason_json) < 0) {
		log_errno(a->log, CKPTD_LOG_ERROR, "%s: early stop: touch %s", a->run->name, es->touch);
		failed++;
	}
	if (es->signal && signal_job(a) < 0) {
		log_errno(a->log, CKPTD_LOG_ERROR, "%s: early stop: signal %d to the pid in %s",
		          a->run->name, es->signal, es->pidfile);
		failed++;
	}
	return failed;
}
