/* loop.h - the event loop: epoll over fds, one-shot timers on a single
 * timerfd.  One thread owns all decisions; callbacks must not block.
 * Small on purpose, in the spirit of redis's ae.c. */
#ifndef CKPTD_LOOP_H
#define CKPTD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ckptd_loop;

typedef void (*loop_fd_fn)(struct ckptd_loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct ckptd_loop *l, void *arg);

/* NULL with errno. */
struct ckptd_loop *loop_new(void);
void loop_free(struct ckptd_loop *l);

/* Watch fd for EPOLLIN/EPOLLOUT...; fn(l, fd, revents, arg) when ready.
 * 0, or -1 with errno.  A callback may add or remove any fd, itself too. */
int loop_add_fd(struct ckptd_loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_del_fd(struct ckptd_loop *l, int fd);

/* Call fn(l, arg) once, delay_ms from now (CLOCK_MONOTONIC).  Returns a
 * timer id > 0, or 0 with errno.  Cancelling an id that fired is a no-op. */
uint64_t loop_timer(struct ckptd_loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg);
void loop_timer_cancel(struct ckptd_loop *l, uint64_t id);

/* Run until loop_stop(); 0, or -1 with errno when epoll_wait fails. */
int loop_run(struct ckptd_loop *l);
void loop_stop(struct ckptd_loop *l);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t loop_now_ms(void);

#endif
