/* state.c - per-run state and events.jsonl, atomic writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/archive_tmp.h"
#include "ckptd/atomic.h"
#include "ckptd/state.h"

#define EVENTS "events.jsonl"
#define STATE "state.json"
#define PINS "pins.json"
#define MAX_STATE_FILE (16u << 20)

static int mkdir_0700(int at, const char *path)
{
	if (mkdirat(at, path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int state_open(const char *state_dir, const char *run, struct ckptd_statedir *sd)
{
	sd->dirfd = sd->events_fd = -1;
	snprintf(sd->run, sizeof(sd->run), "%s", run);
	/* the state dir itself: 0700, parents as they are */
	if (mkdir_0700(AT_FDCWD, state_dir) < 0)
		return -1;
	int top = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -1;
	if (mkdir_0700(top, run) < 0) {
		int saved = errno;
		close(top);
		errno = saved;
		return -1;
	}
	sd->dirfd = openat(top, run, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int saved = errno;
	close(top);
	if (sd->dirfd < 0) {
		errno = saved;
		return -1;
	}
	sd->events_fd = openat(sd->dirfd, EVENTS, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (sd->events_fd < 0) {
		saved = errno;
		state_close(sd);
		errno = saved;
		return -1;
	}
	return 0;
}

void state_close(struct ckptd_statedir *sd)
{
	if (sd->events_fd >= 0)
		close(sd->events_fd);
	if (sd->dirfd >= 0)
		close(sd->dirfd);
	sd->events_fd = sd->dirfd = -1;
}

static void clear_failed(struct ckptd_state *st, const char *name)
{
	for (size_t i = 0; i < st->nfailed; i++) {
		if (strcmp(st->failed[i], name) == 0) {
			free(st->failed[i]);
			st->failed[i] = st->failed[--st->nfailed];
			return;
		}
	}
}

bool state_failed(const struct ckptd_state *st, const char *name)
{
	for (size_t i = 0; i < st->nfailed; i++)
		if (strcmp(st->failed[i], name) == 0)
			return true;
	return false;
}

static int add_failed(struct ckptd_state *st, const char *name)
{
	if (state_failed(st, name))
		return 0;
	char **v = realloc(st->failed, (st->nfailed + 1) * sizeof(*v));
	if (!v)
		return -1;
	st->failed = v;
	if (!(v[st->nfailed] = strdup(name)))
		return -1;
	st->nfailed++;
	return 0;
}

static const char *str_field(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

/* Fold one event into st. */
static int fold(struct ckptd_state *st, struct json_object *ev)
{
	const char *event = str_field(ev, "event");
	const char *ckpt = str_field(ev, "checkpoint");
	struct json_object *k;
	bool has_key = json_object_object_get_ex(ev, "key", &k) && json_object_is_type(k, json_type_int);
	int64_t key = has_key ? json_object_get_int64(k) : 0;
	st->nevents++;
	if (!event)
		return 0;
	if (strcmp(event, "promoted") == 0 && has_key) {
		st->promoted = true;
		st->promoted_key = key;
		snprintf(st->promoted_name, sizeof(st->promoted_name), "%s", ckpt ? ckpt : "");
	} else if (strcmp(event, "early_stop") == 0) {
		st->early_stopped = true;
		st->early_stop_key = key;
	} else if (strcmp(event, "degraded") == 0 && has_key) {
		st->degraded = true;
		st->degraded_key = key;
	} else if (strcmp(event, "non_finite") == 0 && has_key) {
		st->non_finite = true;
		st->non_finite_key = key;
	} else if (strcmp(event, "stalled") == 0) {
		st->stalled = true;
		st->stalled_key = has_key ? key : -1;
	} else if (strcmp(event, "pruned") == 0 && ckpt) {
		clear_failed(st, ckpt);
		snprintf(st->last_pruned, sizeof(st->last_pruned), "%s", ckpt);
	} else if (strcmp(event, "prune_failed") == 0 && ckpt) {
		return add_failed(st, ckpt);
	}
	return 0;
}

/* Read events.jsonl, cutting a torn last line. */
static int load_events(struct ckptd_statedir *sd, struct ckptd_state *st)
{
	struct stat sb;
	if (fstat(sd->events_fd, &sb) < 0)
		return -1;
	size_t len = 0;
	char *buf = read_small_at(sd->dirfd, EVENTS, (size_t)sb.st_size + (1u << 20), &len);
	if (!buf)
		return -1;
	char *end = memrchr(buf, '\n', len);
	size_t good = end ? (size_t)(end - buf) + 1 : 0;
	if (good < len && ftruncate(sd->events_fd, (off_t)good) < 0) {
		free(buf);
		return -1;
	}
	int rc = 0;
	for (char *line = buf; line < buf + good && rc == 0;) {
		char *nl = memchr(line, '\n', (size_t)(buf + good - line));
		*nl = '\0';
		struct json_object *ev = json_tokener_parse(line);
		if (ev && json_object_is_type(ev, json_type_object))
			rc = fold(st, ev);
		json_object_put(ev);
		line = nl + 1;
	}
	free(buf);
	return rc;
}

int state_load_pins(struct ckptd_statedir *sd, struct ckptd_state *st)
{
	free(st->pins);
	st->pins = NULL;
	st->npins = 0;
	char *buf = read_small_at(sd->dirfd, PINS, MAX_STATE_FILE, NULL);
	if (!buf)
		return errno == ENOENT ? 0 : -1;
	struct json_object *o = json_tokener_parse(buf), *arr;
	free(buf);
	int rc = 0;
	if (o && json_object_object_get_ex(o, "pins", &arr) && json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);
		st->pins = calloc(n ? n : 1, sizeof(*st->pins));
		if (!st->pins)
			rc = -1;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);
			if (json_object_is_type(v, json_type_int))
				st->pins[st->npins++] = json_object_get_int64(v);
		}
	}
	json_object_put(o);
	return rc;
}

bool state_pinned(const struct ckptd_state *st, int64_t key)
{
	for (size_t i = 0; i < st->npins; i++)
		if (st->pins[i] == key)
			return true;
	return false;
}

static int load_pending(struct ckptd_statedir *sd, struct ckptd_state *st)
{
	char *buf = read_small_at(sd->dirfd, STATE, MAX_STATE_FILE, NULL);
	if (!buf)
		return errno == ENOENT ? 0 : -1;
	struct json_object *o = json_tokener_parse(buf), *p, *k;
	free(buf);
	if (o && json_object_object_get_ex(o, "pending", &p) && json_object_is_type(p, json_type_object)) {
		const char *name = str_field(p, "checkpoint"), *action = str_field(p, "action");
		if (name && action && json_object_object_get_ex(p, "key", &k)) {
			st->pending = true;
			snprintf(st->pending_name, sizeof(st->pending_name), "%s", name);
			snprintf(st->pending_action, sizeof(st->pending_action), "%s", action);
			st->pending_key = json_object_get_int64(k);
			struct json_object *q;
			if (json_object_object_get_ex(p, "seq", &q))
				st->pending_seq = (uint64_t)json_object_get_int64(q);
		}
	}
	json_object_put(o);
	return 0;
}

/* Temporaries of state.json and log.json a crash left (only the daemon
 * writes those; pins.json's belong to a ckptctl that may be running). */
static void clean_tmp(struct ckptd_statedir *sd)
{
	char **names;
	size_t n;
	if (archive_tmp_names(sd->dirfd, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (archive_tmp_is_ours_for(names[i], STATE) || archive_tmp_is_ours_for(names[i], "log.json"))
			(void)unlinkat(sd->dirfd, names[i], 0);
	archive_tmp_names_free(names, n);
}

int state_load(struct ckptd_statedir *sd, struct ckptd_state *st)
{
	memset(st, 0, sizeof(*st));
	clean_tmp(sd);
	if (load_events(sd, st) < 0 || state_load_pins(sd, st) < 0 || load_pending(sd, st) < 0)
		return -1;
	return 0;
}

void state_free(struct ckptd_state *st)
{
	for (size_t i = 0; i < st->nfailed; i++)
		free(st->failed[i]);
	free(st->failed);
	free(st->pins);
	json_object_put(st->snapshot);
	memset(st, 0, sizeof(*st));
}

void state_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

int state_event(struct ckptd_statedir *sd, struct ckptd_state *st, const char *event,
                bool has_key, int64_t key, struct json_object *fields, char **out_line)
{
	char ts[40];
	state_timestamp(ts, sizeof(ts));
	struct json_object *ev = json_object_new_object();
	if (!ev) {
		json_object_put(fields);
		errno = ENOMEM;
		return -1;
	}
	json_object_object_add(ev, "ts", json_object_new_string(ts));
	json_object_object_add(ev, "run", json_object_new_string(sd->run));
	json_object_object_add(ev, "event", json_object_new_string(event));
	json_object_object_add(ev, "key", has_key ? json_object_new_int64(key) : NULL);
	if (fields) {
		json_object_object_foreach(fields, k, v)
			json_object_object_add(ev, k, json_object_get(v));
		json_object_put(fields);
	}
	const char *text = json_object_to_json_string_ext(
		ev, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	int rc = -1;
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		/* one write: O_APPEND keeps the line whole among other appends;
		 * a crash mid-write leaves a torn line that state_load cuts */
		ssize_t w;
		do
			w = write(sd->events_fd, line, len + 1);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t)(len + 1) && fdatasync(sd->events_fd) == 0)
			rc = fold(st, ev);
		else if (w >= 0)
			errno = EIO;
		if (rc == 0 && out_line) {
			line[len] = '\0';
			*out_line = line;
			line = NULL;
		}
		free(line);
	} else {
		errno = ENOMEM;
	}
	json_object_put(ev);
	return rc;
}

int state_remember(struct ckptd_state *st, const char *event, bool has_key, int64_t key,
                   struct json_object *fields)
{
	struct json_object *ev = fields ? fields : json_object_new_object();
	if (!ev) {
		errno = ENOMEM;
		return -1;
	}
	json_object_object_add(ev, "event", json_object_new_string(event));
	json_object_object_add(ev, "key", has_key ? json_object_new_int64(key) : NULL);
	int rc = fold(st, ev);
	json_object_put(ev);
	return rc;
}

int state_save(struct ckptd_statedir *sd, struct ckptd_state *st, struct json_object *snapshot)
{
	if (snapshot) {
		json_object_put(st->snapshot);
		st->snapshot = snapshot;
	}
	struct json_object *o = json_object_new_object();
	if (!o) {
		errno = ENOMEM;
		return -1;
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "run", json_object_new_string(sd->run));
	if (st->pending) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "checkpoint", json_object_new_string(st->pending_name));
		json_object_object_add(p, "action", json_object_new_string(st->pending_action));
		json_object_object_add(p, "key", json_object_new_int64(st->pending_key));
		json_object_object_add(p, "seq", json_object_new_int64((int64_t)st->pending_seq));
		json_object_object_add(o, "pending", p);
	}
	if (st->snapshot)
		json_object_object_add(o, "status", json_object_get(st->snapshot));
	const char *text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = atomic_write_at(sd->dirfd, STATE, text, strlen(text), 0600);
	json_object_put(o);
	return rc;
}

int state_set_pending(struct ckptd_statedir *sd, struct ckptd_state *st, const char *name,
                      int64_t key, const char *action)
{
	st->pending = name != NULL;
	if (name) {
		snprintf(st->pending_name, sizeof(st->pending_name), "%s", name);
		snprintf(st->pending_action, sizeof(st->pending_action), "%s", action);
		st->pending_key = key;
		st->pending_seq = st->nevents;
	}
	return state_save(sd, st, NULL);
}

int pins_write(struct ckptd_statedir *sd, const int64_t *pins, size_t n)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int64(pins[i]));
	json_object_object_add(o, "pins", arr);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = atomic_write_at(sd->dirfd, PINS, text, strlen(text), 0600);
	json_object_put(o);
	return rc;
}
