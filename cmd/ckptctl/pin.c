/* pin.c - `ckptctl pin RUN KEY` / `ckptctl unpin RUN KEY`: edit the run's
 * pins.json, which the daemon reads before every retention pass.
 *
 * A pin may be set before the daemon ever ran, so the state dir is opened
 * with state_open() (it creates STATE_DIR/RUN 0700).  The read-modify-write
 * holds an flock on that directory so that two ckptctl at once cannot lose
 * a pin; the file itself is replaced atomically (pins_write), so the daemon
 * never reads half of it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ckptd/atomic.h"
#include "ckptd/state.h"
#include "ctl.h"

#define PINS_FILE "pins.json"
#define MAX_PINS_FILE (16u << 20)

static int pin_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pin_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ckptctl %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_usage(stderr);
	return EX_USAGE;
}

/* A whole number >= 0, digits only ("+3", " 3", "3.0" are refused). */
static int parse_key(const char *s, int64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* The pins in pins.json (none when it does not exist), in an array with
 * room for one more.  A file that is not
 * {"pins": [whole numbers]} is refused rather than overwritten: it may hold
 * pins someone cares about.  Returns 0 or an exit code. */
static int read_pins(const struct ckptd_statedir *sd, const char *where, int64_t **pins, size_t *n)
{
	*pins = NULL;
	*n = 0;
	char *buf = read_small_at(sd->dirfd, PINS_FILE, MAX_PINS_FILE, NULL);
	if (!buf) {
		if (errno == ENOENT) { /* no pin yet: room for the one to add */
			*pins = calloc(1, sizeof(**pins));
			if (*pins)
				return 0;
			fprintf(stderr, "ckptctl: %s\n", strerror(ENOMEM));
			return EX_OSERR;
		}
		fprintf(stderr, "ckptctl: %s/%s: %s\n", where, PINS_FILE, strerror(errno));
		return EX_IOERR;
	}
	struct json_object *o = json_tokener_parse(buf), *arr;
	free(buf);
	int rc = 0;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "pins", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		rc = EX_DATAERR;
	} else {
		size_t len = json_object_array_length(arr);
		*pins = calloc(len + 1, sizeof(**pins));
		if (!*pins) {
			rc = EX_OSERR;
		}
		for (size_t i = 0; rc == 0 && i < len; i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
				rc = EX_DATAERR;
			else
				(*pins)[(*n)++] = json_object_get_int64(v);
		}
	}
	json_object_put(o);
	if (rc == EX_DATAERR)
		fprintf(stderr, "ckptctl: %s/%s is not {\"pins\": [whole numbers]}: fix or remove it\n",
		        where, PINS_FILE);
	else if (rc == EX_OSERR)
		fprintf(stderr, "ckptctl: %s\n", strerror(ENOMEM));
	if (rc) {
		free(*pins);
		*pins = NULL;
		*n = 0;
	}
	return rc;
}

static int cmp_key(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Add or remove key; the array has room for one more.  Sorted, so the file
 * reads well.  Returns whether anything changed. */
static bool edit(int64_t *pins, size_t *n, int64_t key, bool add)
{
	size_t at = *n;
	for (size_t i = 0; i < *n; i++)
		if (pins[i] == key)
			at = i;
	if (add == (at < *n))
		return false;
	if (add)
		pins[(*n)++] = key;
	else
		pins[at] = pins[--*n];
	qsort(pins, *n, sizeof(*pins), cmp_key);
	return true;
}

static int change(const struct ckptd_config *cfg, const char *cmd, const char *run, int64_t key, bool add)
{
	char where[4096];
	snprintf(where, sizeof(where), "%s/%s", cfg->state_dir, run);
	struct stat sb;
	if (!add && stat(where, &sb) < 0 && errno == ENOENT) { /* nothing to unpin: create nothing */
		printf("%s %" PRId64 " was not pinned\n", run, key);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	struct ckptd_statedir sd;
	if (state_open(cfg->state_dir, run, &sd) < 0) {
		fprintf(stderr, "ckptctl %s: cannot create or open the state in %s: %s\n", cmd, where,
		        strerror(errno));
		state_close(&sd);
		return EX_CANTCREAT;
	}
	if (flock(sd.dirfd, LOCK_EX) < 0) {
		fprintf(stderr, "ckptctl %s: locking %s: %s\n", cmd, where, strerror(errno));
		state_close(&sd);
		return EX_IOERR;
	}
	int64_t *pins;
	size_t n;
	int rc = read_pins(&sd, where, &pins, &n);
	if (rc == 0) {
		bool changed = edit(pins, &n, key, add);
		if (changed && pins_write(&sd, pins, n) < 0) {
			fprintf(stderr, "ckptctl %s: writing %s/%s: %s\n", cmd, where, PINS_FILE, strerror(errno));
			rc = errno == ENOSPC || errno == EDQUOT || errno == EROFS || errno == EACCES
			     ? EX_CANTCREAT : EX_IOERR;
		} else if (add) {
			printf("pinned %s %" PRId64 "%s\n", run, key, changed ? "" : " (already pinned)");
		} else if (changed) {
			printf("unpinned %s %" PRId64 "\n", run, key);
		} else {
			printf("%s %" PRId64 " was not pinned\n", run, key);
		}
	}
	free(pins);
	state_close(&sd); /* releases the lock */
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "ckptctl %s: writing output: %s\n", cmd, strerror(errno));
		rc = EX_IOERR;
	}
	return rc;
}

static int pin_main(int argc, char **argv, bool add)
{
	const char *cmd = add ? "pin" : "unpin";
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CKPTD_DEFAULT_CONFIG;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2)
		return pin_usage(cmd, "wants RUN KEY");
	const char *run = argv[optind];
	int64_t key;
	if (parse_key(argv[optind + 1], &key) < 0)
		return pin_usage(cmd, "KEY must be a whole number >= 0, not '%s'", argv[optind + 1]);
	struct ckptd_config *cfg = ctl_load_config(path);
	if (!cfg)
		return EX_CONFIG;
	int rc = config_find_run(cfg, run) ? change(cfg, cmd, run, key, add)
	         : pin_usage(cmd, "no run named '%s' in the config", run);
	config_free(cfg);
	return rc;
}

int ctl_pin(int argc, char **argv)
{
	return pin_main(argc, argv, true);
}

int ctl_unpin(int argc, char **argv)
{
	return pin_main(argc, argv, false);
}
