/* Unit tests: the event loop, on real pipes and the real clock.  Every
 * test arms a guard timer first, so a broken loop fails instead of
 * hanging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ckptd/loop.h"

#define GUARD_MS 2000

static void guard_fired(struct ckptd_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	fail_msg("the loop ran for %d ms: a test hung", GUARD_MS);
}

static struct ckptd_loop *new_loop(uint64_t *guard)
{
	struct ckptd_loop *l = loop_new();
	assert_non_null(l);
	*guard = loop_timer(l, GUARD_MS, guard_fired, NULL);
	assert_true(*guard > 0);
	return l;
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* ---- fds ---- */

struct fdrec {
	int calls;
	int fd;
	uint32_t events;
	char got[16];
};

static void read_and_stop(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	struct fdrec *r = arg;
	r->calls++;
	r->fd = fd;
	r->events = events;
	ssize_t n = read(fd, r->got, sizeof(r->got) - 1);
	assert_true(n > 0);
	r->got[n] = '\0';
	loop_stop(l);
}

static void test_fd_callback(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	int p[2];
	make_pipe(p);
	struct fdrec r = { 0 };
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, read_and_stop, &r), 0);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_true(r.events & EPOLLIN);
	assert_string_equal(r.got, "hi");

	/* the same fd twice is refused; an unknown one cannot be removed */
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, read_and_stop, &r), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(loop_del_fd(l, p[1]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	assert_int_equal(loop_del_fd(l, p[0]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_add_fd(l, -1, EPOLLIN, read_and_stop, &r), -1);
	assert_int_equal(errno, EINVAL);

	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Two readable pipes in one batch: whichever callback runs first removes
 * the other, whose event is already in the batch and must be dropped. */
struct pair {
	int fd[2];
	int calls[2];
	struct ckptd_loop *l;
};

static void remove_other(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct pair *p = arg;
	int me = fd == p->fd[1];
	p->calls[me]++;
	assert_int_equal(loop_del_fd(l, p->fd[!me]), 0);
	loop_stop(l);
}

static void test_del_other_in_same_batch(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	int a[2], b[2];
	make_pipe(a);
	make_pipe(b);
	struct pair p = { .fd = { a[0], b[0] }, .l = l };
	assert_int_equal(loop_add_fd(l, a[0], EPOLLIN, remove_other, &p), 0);
	assert_int_equal(loop_add_fd(l, b[0], EPOLLIN, remove_other, &p), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(loop_run(l), 0);
	/* both were ready together; exactly one callback ran */
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	loop_free(l);
}

/* Remove the other fd, close it and register a new fd that gets the same
 * number with another callback: the stale event of the batch must not
 * reach the new registration. */
struct reuse {
	int fd[2];
	int first_calls;
	int newcomer_calls;
	int newpipe[2];
};

static void newcomer(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	struct reuse *r = arg;
	r->newcomer_calls++;
}

static void replace_other(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct reuse *r = arg;
	r->first_calls++;
	int other = r->fd[fd == r->fd[0]];
	assert_int_equal(loop_del_fd(l, other), 0);
	assert_int_equal(close(other), 0);
	/* the lowest free number is the one just closed */
	make_pipe(r->newpipe);
	assert_int_equal(r->newpipe[0], other);
	assert_int_equal(loop_add_fd(l, r->newpipe[0], EPOLLIN, newcomer, r), 0);
	assert_int_equal(loop_del_fd(l, fd), 0);
	loop_stop(l);
}

static void test_fd_number_reused_in_batch(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	int a[2], b[2];
	make_pipe(a);
	make_pipe(b);
	struct reuse r = { .fd = { a[0], b[0] } };
	assert_int_equal(loop_add_fd(l, a[0], EPOLLIN, replace_other, &r), 0);
	assert_int_equal(loop_add_fd(l, b[0], EPOLLIN, replace_other, &r), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.first_calls, 1);
	assert_int_equal(r.newcomer_calls, 0);
	int survivor = r.fd[0] == r.newpipe[0] ? r.fd[1] : r.fd[0];
	assert_int_equal(loop_del_fd(l, r.newpipe[0]), 0);
	close(survivor);
	close(r.newpipe[0]);
	close(r.newpipe[1]);
	close(a[1]);
	close(b[1]);
	loop_free(l);
}

/* A callback that removes itself is not called again, though its fd
 * stays readable. */
static void remove_self(struct ckptd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	int *calls = arg;
	(*calls)++;
	assert_int_equal(loop_del_fd(l, fd), 0);
}

static void stop_timer(struct ckptd_loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void test_del_self(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	int p[2];
	make_pipe(p);
	int calls = 0;
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, remove_self, &calls), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_true(loop_timer(l, 30, stop_timer, NULL) > 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(calls, 1);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* ---- timers ---- */

struct order {
	int seq[8];
	int n;
	int stop_after;
	struct ckptd_loop *l;
};

struct tag {
	struct order *o;
	int id;
	int64_t set_at, delay;
};

static void record_tag(struct ckptd_loop *l, void *arg)
{
	struct tag *t = arg;
	assert_true(loop_now_ms() - t->set_at >= t->delay);
	t->o->seq[t->o->n++] = t->id;
	if (t->o->n == t->o->stop_after)
		loop_stop(l);
}

static void test_timers_in_order(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	struct order o = { .stop_after = 5, .l = l };
	/* ties go to the timer set first */
	struct tag tags[] = {
		{ &o, 30, 0, 30 }, { &o, 10, 0, 10 }, { &o, 20, 0, 20 }, { &o, 11, 0, 10 }, { &o, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		tags[i].set_at = loop_now_ms();
		assert_true(loop_timer(l, tags[i].delay, record_tag, &tags[i]) > 0);
	}
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(o.n, 5);
	int want[] = { 0, 10, 11, 20, 30 };
	assert_memory_equal(o.seq, want, sizeof(want));
	loop_free(l);
}

struct canceller {
	uint64_t victim;
	int fired;
};

static void cancel_victim(struct ckptd_loop *l, void *arg)
{
	struct canceller *c = arg;
	c->fired++;
	loop_timer_cancel(l, c->victim);
}

static void must_not_fire(struct ckptd_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	fail_msg("a cancelled timer fired");
}

static void test_timer_cancel(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	/* cancelled before the loop runs */
	uint64_t a = loop_timer(l, 5, must_not_fire, NULL);
	assert_true(a > 0);
	loop_timer_cancel(l, a);
	/* cancelled by a callback due at the same moment, set before it */
	struct canceller c = { 0 };
	assert_true(loop_timer(l, 10, cancel_victim, &c) > 0);
	c.victim = loop_timer(l, 10, must_not_fire, NULL);
	assert_true(c.victim > a);
	uint64_t stop = loop_timer(l, 40, stop_timer, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.fired, 1);
	/* fired and cancelled ids: no-ops */
	loop_timer_cancel(l, stop);
	loop_timer_cancel(l, c.victim);
	loop_timer_cancel(l, 999999);
	/* the guard is still pending and can go */
	loop_timer_cancel(l, guard);
	loop_free(l);
}

/* A timer that sets itself again with delay 0 runs once per turn, never
 * in a loop of its own. */
static void again(struct ckptd_loop *l, void *arg)
{
	int *n = arg;
	if (++*n == 5) {
		loop_stop(l);
		return;
	}
	assert_true(loop_timer(l, 0, again, n) > 0);
}

static void test_timer_rearm_from_callback(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	int n = 0;
	assert_true(loop_timer(l, 0, again, &n) > 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(n, 5);
	loop_free(l);
}

/* ---- stop ---- */

static void test_stop_and_run_again(void **state)
{
	(void)state;
	uint64_t guard;
	struct ckptd_loop *l = new_loop(&guard);
	struct order o = { .stop_after = 1, .l = l };
	struct tag t1 = { &o, 1, loop_now_ms(), 5 }, t2 = { &o, 2, loop_now_ms(), 20 };
	assert_true(loop_timer(l, t1.delay, record_tag, &t1) > 0);
	assert_true(loop_timer(l, t2.delay, record_tag, &t2) > 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(o.n, 1);
	o.stop_after = 2;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.seq[0], 1);
	assert_int_equal(o.seq[1], 2);

	/* stopped before it runs: it returns at once, and runs next time */
	loop_stop(l);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(o.n, 2);
	assert_true(loop_timer(l, 1, stop_timer, NULL) > 0);
	assert_int_equal(loop_run(l), 0);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_callback),
		cmocka_unit_test(test_del_other_in_same_batch),
		cmocka_unit_test(test_fd_number_reused_in_batch),
		cmocka_unit_test(test_del_self),
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_timer_cancel),
		cmocka_unit_test(test_timer_rearm_from_callback),
		cmocka_unit_test(test_stop_and_run_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
