/* Unit tests: the shared inotify registry, with real inotify on real temp
 * directories.  The kernel's own view of the watches is read back from
 * /proc/self/fdinfo, so "the watch went" and "the mask is the union" are
 * checked where they happen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckptd/loop.h"
#include "ckptd/watch.h"

#define GUARD_MS 2000

/* ---- fixture: a temp dir, a loop with a guard timer, a watch ---- */

struct fx {
	char dir[256];
	struct ckptd_loop *l;
	struct ckptd_watch *w;
	bool timed_out;
};

static void guard_fired(struct ckptd_loop *l, void *arg)
{
	struct fx *f = arg;
	f->timed_out = true;
	loop_stop(l);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(f->dir, sizeof(f->dir), "%s/ckptd-watch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_true(n > 0 && (size_t)n < sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	f->l = loop_new();
	assert_non_null(f->l);
	f->w = watch_new(f->l);
	assert_non_null(f->w);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	watch_free(f->w);
	loop_free(f->l);
	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* Run the loop until a callback stops it; fail after GUARD_MS. */
static void run(struct fx *f)
{
	f->timed_out = false;
	uint64_t g = loop_timer(f->l, GUARD_MS, guard_fired, f);
	assert_true(g > 0);
	assert_int_equal(loop_run(f->l), 0);
	loop_timer_cancel(f->l, g);
	assert_false(f->timed_out);
}

static void settle_stop(struct ckptd_loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* Run the loop for ms, whatever happens: nothing more may arrive. */
static void settle(struct fx *f, int64_t ms)
{
	assert_true(loop_timer(f->l, ms, settle_stop, NULL) > 0);
	assert_int_equal(loop_run(f->l), 0);
}

static void path_in(const struct fx *f, const char *name, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s", f->dir, name);
}

static void touch(const struct fx *f, const char *name)
{
	char p[PATH_MAX];
	path_in(f, name, p);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
}

static void unlink_in(const struct fx *f, const char *name)
{
	char p[PATH_MAX];
	path_in(f, name, p);
	assert_int_equal(unlink(p), 0);
}

/* ---- the kernel's view: inotify watches of this process ---- */

struct kwatch {
	int n;           /* watches on every inotify fd of the process */
	uint32_t mask;   /* of the last one listed */
};

static struct kwatch kernel_watches(void)
{
	struct kwatch k = { 0 };
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char link[PATH_MAX], target[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") != 0)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fdinfo/%s", e->d_name);
		FILE *fi = fopen(link, "re");
		assert_non_null(fi);
		char line[512];
		while (fgets(line, sizeof(line), fi)) {
			const char *m = strstr(line, " mask:");
			if (strncmp(line, "inotify wd:", 11) == 0 && m) {
				k.n++;
				k.mask = (uint32_t)strtoul(m + 6, NULL, 16);
			}
		}
		fclose(fi);
	}
	closedir(d);
	return k;
}

/* ---- a subscriber that records what it is handed ---- */

struct rec {
	struct fx *f;
	int n;               /* events, overflow included */
	int nulls;
	uint32_t mask[64];
	char name[64][32];
	int stop_at;         /* loop_stop when n reaches it */
	/* what to do on the first event, for the re-entrancy test */
	struct ckptd_watch *w;
	int remove_handle;
	struct rec *add_rec;
	int *added_handle;
};

static void on_event(void *arg, const struct inotify_event *ev)
{
	struct rec *r = arg;
	int i = r->n++;
	if (!ev) {
		r->nulls++;
		if (i < 64)
			r->mask[i] = 0;
	} else if (i < 64) {
		r->mask[i] = ev->mask;
		snprintf(r->name[i], sizeof(r->name[i]), "%s", ev->len ? ev->name : "");
	}
	if (i == 0 && r->w) {
		if (r->remove_handle >= 0)
			watch_remove(r->w, r->remove_handle);
		if (r->add_rec) {
			*r->added_handle = watch_add(r->w, r->f->dir, IN_CREATE, on_event, r->add_rec);
			assert_true(*r->added_handle >= 0);
		}
	}
	if (r->n == r->stop_at)
		loop_stop(r->f->l);
}

static struct rec new_rec(struct fx *f, int stop_at)
{
	return (struct rec){ .f = f, .stop_at = stop_at, .remove_handle = -1 };
}

/* ---- tests ---- */

/* Two subscribers with different masks on one directory share one kernel
 * watch whose mask is the union: neither loses its events. */
static void test_shared_wd(void **state)
{
	struct fx *f = *state;
	int before = kernel_watches().n;
	struct rec a = new_rec(f, 1), b = new_rec(f, 1);
	int ha = watch_add(f->w, f->dir, IN_CREATE, on_event, &a);
	int hb = watch_add(f->w, f->dir, IN_DELETE | IN_ONLYDIR, on_event, &b);
	assert_true(ha >= 0 && hb >= 0 && ha != hb);
	struct kwatch k = kernel_watches();
	assert_int_equal(k.n, before + 1);
	assert_true((k.mask & (IN_CREATE | IN_DELETE)) == (IN_CREATE | IN_DELETE));

	touch(f, "x");
	run(f);
	assert_int_equal(a.n, 1);
	assert_true(a.mask[0] & IN_CREATE);
	assert_string_equal(a.name[0], "x");
	assert_int_equal(b.n, 0);

	unlink_in(f, "x");
	run(f);
	assert_int_equal(b.n, 1);
	assert_true(b.mask[0] & IN_DELETE);
	assert_string_equal(b.name[0], "x");
	settle(f, 20);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);

	/* removing one keeps the other, and the kernel watch */
	watch_remove(f->w, ha);
	assert_int_equal(kernel_watches().n, before + 1);
	touch(f, "y");
	unlink_in(f, "y");
	b.stop_at = 2;
	run(f);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.name[1], "y");

	/* the last one takes the kernel watch with it; IN_IGNORED of our own
	 * removal reaches nobody */
	watch_remove(f->w, hb);
	assert_int_equal(kernel_watches().n, before);
	settle(f, 20);
	assert_int_equal(b.n, 2);
	watch_remove(f->w, hb);     /* twice: a no-op */
}

/* rmdir: IN_DELETE_SELF as asked, IN_IGNORED always; the subscription is
 * then gone and removing it is a no-op that touches no other. */
static void test_ignored_after_rmdir(void **state)
{
	struct fx *f = *state;
	char sub[PATH_MAX];
	path_in(f, "sub", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	int before = kernel_watches().n;
	struct rec r = new_rec(f, 2), other = new_rec(f, 1);
	int h = watch_add(f->w, sub, IN_DELETE_SELF, on_event, &r);
	int ho = watch_add(f->w, f->dir, IN_CREATE, on_event, &other);
	assert_true(h >= 0 && ho >= 0);
	assert_int_equal(rmdir(sub), 0);
	run(f);
	assert_int_equal(r.n, 2);
	assert_true(r.mask[0] & IN_DELETE_SELF);
	assert_true(r.mask[1] & IN_IGNORED);
	assert_int_equal(kernel_watches().n, before + 1);

	watch_remove(f->w, h);
	assert_int_equal(kernel_watches().n, before + 1);
	touch(f, "z");
	run(f);
	assert_int_equal(other.n, 1);
	assert_string_equal(other.name[0], "z");

	/* the path back: a new subscription, a new kernel watch */
	assert_int_equal(mkdir(sub, 0755), 0);
	int h2 = watch_add(f->w, sub, IN_CREATE, on_event, &r);
	assert_true(h2 >= 0 && h2 != h);
	assert_int_equal(kernel_watches().n, before + 2);
	watch_remove(f->w, h2);
	watch_remove(f->w, ho);
	assert_int_equal(kernel_watches().n, before);
}

/* A callback removes a later subscriber of the same event (it must not be
 * called) and adds a new one (it gets the next event, not this one). */
static void test_add_remove_inside_callback(void **state)
{
	struct fx *f = *state;
	struct rec a = new_rec(f, 0), b = new_rec(f, 0), c = new_rec(f, 1);
	int hc = -1;
	int ha = watch_add(f->w, f->dir, IN_CREATE, on_event, &a);
	int hb = watch_add(f->w, f->dir, IN_CREATE, on_event, &b);
	assert_true(ha >= 0 && hb >= 0);
	a.w = f->w;
	a.remove_handle = hb;
	a.add_rec = &c;
	a.added_handle = &hc;
	touch(f, "one");
	settle(f, 30);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 0);
	assert_int_equal(c.n, 0);
	assert_true(hc >= 0);
	touch(f, "two");
	run(f);
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.name[0], "two");
	watch_remove(f->w, ha);
	watch_remove(f->w, hc);
}

/* A real queue overflow (more events than max_queued_events, read from
 * /proc, never changed): every subscriber is handed NULL. */
static void test_overflow_is_null_to_all(void **state)
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
	char other[PATH_MAX];
	path_in(f, "other", other);
	assert_int_equal(mkdir(other, 0755), 0);
	struct rec a = new_rec(f, 0), b = new_rec(f, 0), c = new_rec(f, 0);
	touch(f, "f");
	char p[PATH_MAX];
	path_in(f, "f", p);
	int ha = watch_add(f->w, p, IN_OPEN | IN_CLOSE_NOWRITE, on_event, &a);
	int hb = watch_add(f->w, p, IN_OPEN, on_event, &b);
	int hc = watch_add(f->w, other, IN_CREATE, on_event, &c);
	assert_true(ha >= 0 && hb >= 0 && hc >= 0);
	/* open and close alternate, so the kernel cannot merge them */
	for (long i = 0; i < max / 2 + 8; i++) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(close(fd), 0);
	}
	settle(f, 50);
	assert_int_equal(a.nulls, 1);
	assert_int_equal(b.nulls, 1);
	assert_int_equal(c.nulls, 1);
	assert_int_equal(c.n, 1);
	assert_true(a.n > max / 2);
	watch_remove(f->w, ha);
	watch_remove(f->w, hb);
	watch_remove(f->w, hc);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct rec r = new_rec(f, 0);
	char p[PATH_MAX];
	path_in(f, "missing", p);
	assert_int_equal(watch_add(f->w, p, IN_CREATE, on_event, &r), -1);
	assert_int_equal(errno, ENOENT);
	touch(f, "file");
	path_in(f, "file", p);
	assert_int_equal(watch_add(f->w, p, IN_ONLYDIR | IN_ATTRIB, on_event, &r), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(watch_add(f->w, p, IN_ONLYDIR, on_event, &r), -1);
	assert_int_equal(errno, EINVAL);
	watch_remove(f->w, 12345);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_wd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_after_rmdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_remove_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_is_null_to_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
