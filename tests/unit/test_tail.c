/* Unit tests: following a log, on real files in a real temp directory,
 * each case twice: with inotify, and polling every few ms (no watch).
 *
 * The recorder keeps every byte delivered, with "<R>" where reset() came,
 * so one string comparison checks the bytes, their order, and the number
 * and place of the resets.  After the expected text arrives the loop runs
 * a little longer: nothing more may come. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/log.h"
#include "ckptd/loop.h"
#include "ckptd/tail.h"
#include "ckptd/watch.h"

#define GUARD_MS 2000
#define POLL_MS 5

/* ---- what the tail delivered ---- */

struct got {
	char *buf;
	size_t len, cap;
	int resets, idles, data_calls;
	bool pending;           /* data or reset since the last idle */
	const char *want;       /* stop the loop when buf is this */
	struct ckptd_loop *l;
};

static void got_append(struct got *g, const char *p, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		size_t cap = g->cap ? g->cap : 256;
		while (cap < g->len + n + 1)
			cap *= 2;
		g->buf = realloc(g->buf, cap);
		assert_non_null(g->buf);
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

static int got_data(void *arg, const char *p, size_t n)
{
	struct got *g = arg;
	assert_true(n > 0);
	g->data_calls++;
	g->pending = true;
	got_append(g, p, n);
	return 0;
}

static void got_reset(void *arg)
{
	struct got *g = arg;
	g->resets++;
	g->pending = true;
	got_append(g, "<R>", 3);
}

static void got_idle(void *arg)
{
	struct got *g = arg;
	assert_true(g->pending);    /* idle only after something came */
	g->pending = false;
	g->idles++;
	if (g->want && g->buf && strcmp(g->buf, g->want) == 0)
		loop_stop(g->l);
}

static const struct ckptd_tail_ops got_ops = { got_data, got_reset, got_idle };

static void got_clear(struct got *g)
{
	free(g->buf);
	struct ckptd_loop *l = g->l;
	*g = (struct got){ .l = l };
}

static const char *got_str(const struct got *g)
{
	return g->buf ? g->buf : "";
}

/* ---- fixture ---- */

struct fx {
	bool poll;
	char dir[256];
	char path[300];     /* dir/metrics.csv */
	struct ckptd_loop *l;
	struct ckptd_watch *w;
	struct ckptd_log log;
	struct got g;
	struct ckptd_tail *t;
	bool timed_out;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state, bool poll)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->poll = poll;
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(f->dir, sizeof(f->dir), "%s/ckptd-tail-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_true(n > 0 && (size_t)n < sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/metrics.csv", f->dir);
	f->l = loop_new();
	assert_non_null(f->l);
	f->w = watch_new(f->l);
	assert_non_null(f->w);
	log_init(&f->log, "test_tail", CKPTD_LOG_ERROR);
	f->g.l = f->l;
	*state = f;
	return 0;
}

static int setup_inotify(void **state)
{
	return setup(state, false);
}

static int setup_poll(void **state)
{
	return setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tail_free(f->t);
	watch_free(f->w);
	loop_free(f->l);
	free(f->g.buf);
	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void start_at(struct fx *f, const char *path, const struct ckptd_tail_pos *pos)
{
	f->t = tail_new(f->l, f->poll ? NULL : f->w, path, POLL_MS, &got_ops, &f->g, &f->log);
	assert_non_null(f->t);
	assert_int_equal(tail_start(f->t, pos), 0);
	assert_int_equal(tail_polling(f->t), f->poll);
}

static void start(struct fx *f, const struct ckptd_tail_pos *pos)
{
	start_at(f, f->path, pos);
}

static void stop_loop(struct ckptd_loop *l, void *arg)
{
	bool *flag = arg;
	if (flag)
		*flag = true;
	loop_stop(l);
}

/* Run until exactly want has been delivered, then a little more; fail if
 * it does not come or anything else does. */
static void expect(struct fx *f, const char *want)
{
	if (strcmp(got_str(&f->g), want) != 0) {
		f->g.want = want;
		f->timed_out = false;
		uint64_t guard = loop_timer(f->l, GUARD_MS, stop_loop, &f->timed_out);
		assert_true(guard > 0);
		assert_int_equal(loop_run(f->l), 0);
		loop_timer_cancel(f->l, guard);
		f->g.want = NULL;
		if (f->timed_out)
			fail_msg("after %d ms: got \"%s\", want \"%s\"", GUARD_MS, got_str(&f->g), want);
	}
	/* inotify: what is queued comes at once; polling: two more looks */
	assert_true(loop_timer(f->l, f->poll ? 3 * POLL_MS : 5, stop_loop, NULL) > 0);
	assert_int_equal(loop_run(f->l), 0);
	assert_string_equal(got_str(&f->g), want);
	assert_false(f->g.pending);
}

/* ---- files ---- */

static void put(const char *path, int flags, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	assert_true(fd >= 0);
	size_t n = strlen(s);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void append(const char *path, const char *s)
{
	put(path, O_APPEND, s);
}

static void create(const char *path, const char *s)
{
	put(path, O_EXCL, s);
}

static void sibling(const struct fx *f, const char *name, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s", f->dir, name);
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* ---- cases ---- */

static void test_created_after_start(void **state)
{
	struct fx *f = *state;
	start(f, NULL);
	expect(f, "");
	create(f->path, "epoch,loss\n1,0.5\n");
	expect(f, "epoch,loss\n1,0.5\n");
	assert_int_equal(f->g.resets, 0);
}

static void test_appended_in_pieces(void **state)
{
	struct fx *f = *state;
	create(f->path, "epoch,lo");
	start(f, NULL);
	expect(f, "epoch,lo");
	append(f->path, "ss\n1,0.");
	expect(f, "epoch,loss\n1,0.");
	const char *rest = "5\n2,0.25\n";
	char want[64];
	snprintf(want, sizeof(want), "epoch,loss\n1,0.");
	for (const char *p = rest; *p; p++) {
		char one[2] = { *p, '\0' };
		append(f->path, one);
		size_t n = strlen(want);
		want[n] = *p;
		want[n + 1] = '\0';
		expect(f, want);
	}
	assert_int_equal(f->g.resets, 0);
	/* a chunk larger than one read, in one go */
	size_t big = 200 * 1024;
	char *s = malloc(big + 1);
	assert_non_null(s);
	for (size_t i = 0; i < big; i++)
		s[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	s[big] = '\0';
	int idles = f->g.idles;
	append(f->path, s);
	char *all = malloc(strlen(want) + big + 1);
	assert_non_null(all);
	strcpy(all, want);
	strcat(all, s);
	expect(f, all);
	assert_int_equal(f->g.resets, 0);
	free(s);
	free(all);
	assert_true(f->g.idles - idles >= 1);
}

/* Four reads of 64 KiB and one idle() after them. */
static void test_one_idle_per_batch(void **state)
{
	struct fx *f = *state;
	size_t big = 4 * 64 * 1024 - 10;
	char *s = malloc(big + 1);
	assert_non_null(s);
	memset(s, 'x', big);
	s[big] = '\0';
	create(f->path, s);
	start(f, NULL);
	assert_int_equal(f->g.data_calls, 4);
	assert_int_equal(f->g.idles, 1);
	assert_int_equal(f->g.len, big);
	expect(f, s);
	assert_int_equal(f->g.idles, 1);
	free(s);
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	create(f->path, "aaa\nbbb\n");
	start(f, NULL);
	expect(f, "aaa\nbbb\n");
	assert_int_equal(truncate(f->path, 0), 0);
	expect(f, "aaa\nbbb\n<R>");
	append(f->path, "cc\n");
	expect(f, "aaa\nbbb\n<R>cc\n");
	/* truncated and written shorter before the loop looks */
	put(f->path, O_TRUNC, "d\n");
	expect(f, "aaa\nbbb\n<R>cc\n<R>d\n");
	assert_int_equal(f->g.resets, 2);
}

/* Lightning: the same inode, opened with O_TRUNC and written again, longer
 * and with a new header, all before the loop looks: only the first bytes
 * can tell. */
static void test_rewritten_in_place(void **state)
{
	struct fx *f = *state;
	create(f->path, "epoch,loss\n0,1.0\n1,0.9\n");
	ino_t before = ino_of(f->path);
	start(f, NULL);
	expect(f, "epoch,loss\n0,1.0\n1,0.9\n");
	const char *again = "epoch,loss,val_loss\n0,1.0,1.1\n1,0.9,1.0\n2,0.8,0.9\n";
	put(f->path, O_TRUNC, again);
	assert_true(ino_of(f->path) == before);
	char want[256];
	snprintf(want, sizeof(want), "epoch,loss\n0,1.0\n1,0.9\n<R>%s", again);
	expect(f, want);
	assert_int_equal(f->g.resets, 1);
	/* and appended after that as usual */
	append(f->path, "3,0.7,0.8\n");
	strcat(want, "3,0.7,0.8\n");
	expect(f, want);
	assert_int_equal(f->g.resets, 1);
}

/* Rotation, the loop looking at each step: renamed away, a last line
 * appended to the renamed file (it must come), then a new file. */
static void test_rotated_stepwise(void **state)
{
	struct fx *f = *state;
	char old[PATH_MAX];
	sibling(f, "metrics.csv.1", old);
	create(f->path, "1\n2\n");
	start(f, NULL);
	expect(f, "1\n2\n");
	assert_int_equal(rename(f->path, old), 0);
	expect(f, "1\n2\n");
	append(old, "3\n");
	expect(f, "1\n2\n3\n");
	create(f->path, "4\n");
	expect(f, "1\n2\n3\n<R>4\n");
	append(f->path, "5\n");
	append(old, "ignored: the old file is done with\n");
	expect(f, "1\n2\n3\n<R>4\n5\n");
	assert_int_equal(f->g.resets, 1);
}

/* The same, all before the loop looks: the old descriptor is drained
 * before the new file is read. */
static void test_rotated_at_once(void **state)
{
	struct fx *f = *state;
	char old[PATH_MAX];
	sibling(f, "metrics.csv.1", old);
	create(f->path, "1\n2\n");
	start(f, NULL);
	expect(f, "1\n2\n");
	assert_int_equal(rename(f->path, old), 0);
	append(old, "3\n");
	create(f->path, "4\n");
	expect(f, "1\n2\n3\n<R>4\n");
	assert_int_equal(f->g.resets, 1);
}

/* Replaced by a temp file renamed over it, just after a last append to
 * the old one. */
static void test_replaced_by_rename(void **state)
{
	struct fx *f = *state;
	char tmp[PATH_MAX];
	sibling(f, ".metrics.csv.tmp", tmp);
	create(f->path, "old\n");
	start(f, NULL);
	expect(f, "old\n");
	append(f->path, "old2\n");
	create(tmp, "new\n");
	assert_int_equal(rename(tmp, f->path), 0);
	expect(f, "old\nold2\n<R>new\n");
	create(tmp, "newer\n");
	assert_int_equal(rename(tmp, f->path), 0);
	expect(f, "old\nold2\n<R>new\n<R>newer\n");
	assert_int_equal(f->g.resets, 2);
}

static void test_deleted_then_recreated(void **state)
{
	struct fx *f = *state;
	create(f->path, "a\n");
	start(f, NULL);
	expect(f, "a\n");
	assert_int_equal(unlink(f->path), 0);
	expect(f, "a\n");
	/* the same content again is still a new file */
	create(f->path, "a\n");
	expect(f, "a\n<R>a\n");
	/* deleted and created again before the loop looks */
	assert_int_equal(unlink(f->path), 0);
	create(f->path, "b\n");
	expect(f, "a\n<R>a\n<R>b\n");
	assert_int_equal(f->g.resets, 2);
}

/* Restart: the position carries over; the same file continues with no
 * reset and nothing again; another file resets. */
static void test_resume(void **state)
{
	struct fx *f = *state;
	struct ckptd_tail_pos pos;
	start(f, NULL);
	tail_pos(f->t, &pos);
	assert_false(pos.valid);
	create(f->path, "h\n1\n");
	expect(f, "h\n1\n");
	tail_pos(f->t, &pos);
	assert_true(pos.valid);
	assert_true(pos.offset == 4 && pos.prefix_len == 4);
	assert_true(pos.ino == (uint64_t)ino_of(f->path));
	tail_free(f->t);
	f->t = NULL;

	/* the same file, appended while ckptd was down */
	append(f->path, "2\n");
	got_clear(&f->g);
	start(f, &pos);
	expect(f, "2\n");
	assert_int_equal(f->g.resets, 0);
	tail_pos(f->t, &pos);
	tail_free(f->t);
	f->t = NULL;

	/* the same inode, rewritten with other first bytes */
	put(f->path, O_TRUNC, "H\n1\n2\n3\n");
	got_clear(&f->g);
	start(f, &pos);
	expect(f, "<R>H\n1\n2\n3\n");
	tail_pos(f->t, &pos);
	tail_free(f->t);
	f->t = NULL;

	/* the same inode, shorter */
	put(f->path, O_TRUNC, "H\n1\n");
	got_clear(&f->g);
	start(f, &pos);
	expect(f, "<R>H\n1\n");
	tail_pos(f->t, &pos);
	tail_free(f->t);
	f->t = NULL;

	/* replaced by an identical copy: another inode, read again */
	char tmp[PATH_MAX];
	sibling(f, "tmp", tmp);
	create(tmp, "H\n1\n");
	assert_int_equal(rename(tmp, f->path), 0);
	got_clear(&f->g);
	start(f, &pos);
	expect(f, "<R>H\n1\n");
	tail_pos(f->t, &pos);
	tail_free(f->t);
	f->t = NULL;

	/* missing at start: waits, then the new file resets */
	assert_int_equal(unlink(f->path), 0);
	got_clear(&f->g);
	start(f, &pos);
	expect(f, "");
	create(f->path, "x\n");
	expect(f, "<R>x\n");

	/* no position: from 0, no reset */
	tail_free(f->t);
	f->t = NULL;
	got_clear(&f->g);
	start(f, NULL);
	expect(f, "x\n");
	assert_int_equal(f->g.resets, 0);
}

/* The directory does not exist at start: wait for it (inotify: polling
 * for the directory only), then for the file in it; then it goes and
 * comes back. */
static void test_directory_created_after_start(void **state)
{
	struct fx *f = *state;
	char sub[PATH_MAX], path[PATH_MAX + 16];
	sibling(f, "run1", sub);
	snprintf(path, sizeof(path), "%s/metrics.csv", sub);
	start_at(f, path, NULL);
	expect(f, "");
	assert_int_equal(mkdir(sub, 0755), 0);
	expect(f, "");
	create(path, "e\n1\n");
	expect(f, "e\n1\n");
	assert_int_equal(tail_polling(f->t), f->poll);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(sub), 0);
	expect(f, "e\n1\n");
	assert_int_equal(mkdir(sub, 0755), 0);
	create(path, "e\n2\n");
	expect(f, "e\n1\n<R>e\n2\n");
	append(path, "3\n");
	expect(f, "e\n1\n<R>e\n2\n3\n");
	assert_int_equal(tail_polling(f->t), f->poll);
}

/* A fifo or a directory at the path is ignored (and opening a fifo must
 * not block); a regular file taking its place is read. */
static void test_not_a_regular_file(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkfifo(f->path, 0644), 0);
	start(f, NULL);
	expect(f, "");
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkdir(f->path, 0755), 0);
	expect(f, "");
	assert_int_equal(rmdir(f->path), 0);
	create(f->path, "ok\n");
	expect(f, "ok\n");
	assert_int_equal(f->g.resets, 0);
}

/* tail_check finds what no event announced. */
static void test_check_by_hand(void **state)
{
	struct fx *f = *state;
	create(f->path, "a\n");
	start(f, NULL);
	assert_string_equal(got_str(&f->g), "a\n");
	append(f->path, "b\n");
	tail_check(f->t);
	assert_string_equal(got_str(&f->g), "a\nb\n");
	assert_int_equal(f->g.idles, 2);
	expect(f, "a\nb\n");
}

/* A real inotify queue overflow (the limit is read, never changed): the
 * append after it has no event of its own and must still be read. */
static void count_noise(void *arg, const struct inotify_event *ev)
{
	long *n = arg;
	(void)ev;
	(*n)++;
}

static void test_overflow(void **state)
{
	struct fx *f = *state;
	FILE *q = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
	long max = 0;
	if (!q || fscanf(q, "%ld", &max) != 1 || max <= 0 || max > 200000) {
		if (q)
			fclose(q);
		skip();
	}
	fclose(q);
	create(f->path, "a\n");
	start(f, NULL);
	expect(f, "a\n");
	/* another subscriber of the same inotify fd fills the queue: opens
	 * and closes alternate, so the kernel cannot merge them */
	char noise[PATH_MAX];
	sibling(f, "noise", noise);
	create(noise, "");
	long n = 0;
	int h = watch_add(f->w, noise, IN_OPEN | IN_CLOSE_NOWRITE, count_noise, &n);
	assert_true(h >= 0);
	for (long i = 0; i < max / 2 + 8; i++) {
		int fd = open(noise, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(close(fd), 0);
	}
	append(f->path, "b\n");
	expect(f, "a\nb\n");
	assert_true(n > max / 2);
	assert_int_equal(f->g.resets, 0);
	watch_remove(f->w, h);
}

/* Fill the inotify queue through another subscriber of the same fd. */
static int flood(struct fx *f, long *n)
{
	FILE *q = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
	long max = 0;
	if (!q || fscanf(q, "%ld", &max) != 1 || max <= 0 || max > 200000) {
		if (q)
			fclose(q);
		return -1;
	}
	fclose(q);
	char noise[PATH_MAX];
	sibling(f, "noise", noise);
	put(noise, 0, "");
	int h = watch_add(f->w, noise, IN_OPEN | IN_CLOSE_NOWRITE, count_noise, n);
	assert_true(h >= 0);
	for (long i = 0; i < max / 2 + 8; i++) {
		int fd = open(noise, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(close(fd), 0);
	}
	return h;
}

/* The directory removed and made again while the queue is full: its
 * IN_IGNORED is lost with the rest, and the watches must still be made
 * again, or a file created later would go unseen.  (No file of the tail
 * is open in it: an open file would keep the directory's inode, and its
 * IN_IGNORED, until after the overflow.) */
static void test_overflow_hides_ignored(void **state)
{
	struct fx *f = *state;
	char sub[PATH_MAX], path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	sibling(f, "run1", sub);
	snprintf(path, sizeof(path), "%s/metrics.csv", sub);
	snprintf(tmp, sizeof(tmp), "%s/tmp", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	start_at(f, path, NULL);
	expect(f, "");
	long n = 0;
	int h = flood(f, &n);
	if (h < 0)
		skip();
	assert_int_equal(rmdir(sub), 0);
	/* the kernel queues IN_IGNORED a moment later: let it meet the full
	 * queue */
	struct timespec pause = { 0, 50 * 1000000L };
	assert_int_equal(nanosleep(&pause, NULL), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	create(path, "b\n");
	expect(f, "b\n");
	watch_remove(f->w, h);
	/* deleted, then created: only the directory watch can tell */
	assert_int_equal(unlink(path), 0);
	expect(f, "b\n");
	create(path, "c\n");
	expect(f, "b\n<R>c\n");
	/* replaced by rename */
	create(tmp, "c\n");
	assert_int_equal(rename(tmp, path), 0);
	expect(f, "b\n<R>c\n<R>c\n");
	append(path, "d\n");
	expect(f, "b\n<R>c\n<R>c\nd\n");
	assert_false(tail_polling(f->t));
}

#define BOTH(fn) \
	{ .name = #fn " (inotify)", .test_func = fn, .setup_func = setup_inotify, \
	  .teardown_func = teardown }, \
	{ .name = #fn " (poll)", .test_func = fn, .setup_func = setup_poll, .teardown_func = teardown }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_created_after_start),
		BOTH(test_appended_in_pieces),
		BOTH(test_one_idle_per_batch),
		BOTH(test_truncated),
		BOTH(test_rewritten_in_place),
		BOTH(test_rotated_stepwise),
		BOTH(test_rotated_at_once),
		BOTH(test_replaced_by_rename),
		BOTH(test_deleted_then_recreated),
		BOTH(test_resume),
		BOTH(test_directory_created_after_start),
		BOTH(test_not_a_regular_file),
		BOTH(test_check_by_hand),
		cmocka_unit_test_setup_teardown(test_overflow, setup_inotify, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_hides_ignored, setup_inotify, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
