/* Unit tests: actions on a real temp dir - the symlink swap race. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ckptd/actions.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The decision saw a regular file; before the prune, someone swapped it
 * for a symlink to a file outside: neither the link nor its target is
 * touched, whatever retain.action says. */
static void test_symlink_swapped_in_is_left_alone(void **state)
{
	(void)state;
	static const enum ckptd_retain_action acts[] = {
		CKPTD_RETAIN_DELETE, CKPTD_RETAIN_COMPRESS, CKPTD_RETAIN_MOVE,
	};
	for (size_t a = 0; a < sizeof(acts) / sizeof(*acts); a++) {
		char dir[] = "/tmp/ckptd-actions.XXXXXX", p[512], outside[512], archive[512];
		assert_non_null(mkdtemp(dir));
		snprintf(p, sizeof(p), "%s/epoch=1.ckpt", dir);
		snprintf(outside, sizeof(outside), "%s/outside", dir);
		snprintf(archive, sizeof(archive), "%s/archive", dir);
		write_file(p, "weights");
		write_file(outside, "precious");
		struct ckptd_run run = { .name = "t" };
		run.retain = (struct ckptd_retain){ .enabled = true, .action = acts[a], .archive = archive, .level = 3 };
		struct ckptd_log log;
		log_init(&log, "test", CKPTD_LOG_ERROR);
		struct ckptd_entry e = { .name = "epoch=1.ckpt", .key = 1, .ready = true, .size = 7 };
		struct ckptd_actx ax = { .run = &run, .log = &log,
		                         .ckdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
		assert_true(ax.ckdir >= 0);
		/* the swap, between the decision and the action */
		assert_int_equal(unlink(p), 0);
		assert_int_equal(symlink(outside, p), 0);
		char arch[256], err[256];
		uint64_t bytes;
		assert_int_equal(action_prune(&ax, &e, &bytes, arch, sizeof(arch), err, sizeof(err)), -1);
		assert_int_equal(errno, ESTALE);
		char target[512];
		ssize_t n = readlink(p, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, outside);
		FILE *f = fopen(outside, "r");
		char got[32] = "";
		assert_non_null(f);
		assert_non_null(fgets(got, sizeof(got), f));
		fclose(f);
		assert_string_equal(got, "precious");
		close(ax.ckdir);
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symlink_swapped_in_is_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
