/* test_fuzz_regress.c - replays the fuzz inputs under the unit tests:
 * every file of tests/fuzz/regress/NAME/ (inputs that once crashed or
 * broke a property, kept after the fix) and of the seed corpus
 * tests/fuzz/corpus/NAME/ goes through the same one-input function the
 * libFuzzer target tests/fuzz/fuzz_NAME.c runs (tests/fuzz/fuzz_NAME_one.h).
 * Paths are relative to the repository root, where tests/run.sh runs. */
#include <dirent.h>
#include <errno.h>

#include "testutil.h"

#include "../fuzz/fuzz_config_one.h"
#include "../fuzz/fuzz_csv_one.h"
#include "../fuzz/fuzz_jsonl_one.h"
#include "../fuzz/fuzz_metrics_one.h"
#include "../fuzz/fuzz_pattern_one.h"

typedef int fuzz_one_fn(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted, without dotfiles (a missing dir: none). */
static size_t list_dir(const char *dir, char ***out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(dir);
	if (!d) {
		assert_int_equal(errno, ENOENT);
		*out = NULL;
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = realloc(v, cap * sizeof *v);
			assert_non_null(v);
		}
		v[n] = strdup(e->d_name);
		assert_non_null(v[n]);
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, by_name);
	*out = v;
	return n;
}

static void *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	*len = n;
	return buf;
}

/* Each input of dir through fn; how many. */
static size_t replay_dir(const char *dir, fuzz_one_fn *fn)
{
	char **names;
	size_t n = list_dir(dir, &names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t len;
		void *data = read_whole(path, &len);
		/* an exact-size copy, so a read past the input is caught under asan */
		void *exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, data, len);
		free(data);
		if (fn(exact, len) != 0)
			fail_msg("%s: the fuzz property failed", path);
		free(exact);
		free(names[i]);
	}
	free(names);
	return n;
}

static void replay(const char *target, fuzz_one_fn *fn)
{
	char dir[256];
	snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", target);
	size_t n = replay_dir(dir, fn);
	snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
	n += replay_dir(dir, fn);
	if (n == 0)
		fail_msg("no inputs for %s: run from the repository root", target);
}

static void test_config(void **state)
{
	(void)state;
	replay("config", fuzz_config_one);
}

static void test_csv(void **state)
{
	(void)state;
	replay("csv", fuzz_csv_one);
}

static void test_jsonl(void **state)
{
	(void)state;
	replay("jsonl", fuzz_jsonl_one);
}

static void test_metrics(void **state)
{
	(void)state;
	replay("metrics", fuzz_metrics_one);
}

static void test_pattern(void **state)
{
	(void)state;
	replay("pattern", fuzz_pattern_one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_pattern),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
