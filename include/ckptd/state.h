/* state.h - per-run state under STATE_DIR/RUN/ (created 0700).
 *
 * events.jsonl is the record of what was done: one JSON line per event,
 * appended and fdatasync'd after the action it reports.  At start-up the
 * daemon folds it back into struct ckptd_state, so an action reported
 * there is never taken or reported again.  state.json (written atomically)
 * holds the action in flight, written before the action starts, so that a
 * crash between an action and its event still ends in exactly one event;
 * it also holds a snapshot for `ckptctl status`.  pins.json is written
 * by `ckptctl pin`. */
#ifndef CKPTD_STATE_H
#define CKPTD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define CKPTD_NAME_MAX 256

struct ckptd_state {
	/* folded from events.jsonl */
	uint64_t nevents;
	bool promoted;
	int64_t promoted_key;
	char promoted_name[CKPTD_NAME_MAX];
	bool early_stopped;
	int64_t early_stop_key;
	bool degraded;
	int64_t degraded_key;          /* key of the last `degraded` */
	bool non_finite;
	int64_t non_finite_key;        /* key of the last `non_finite` */
	bool stalled;
	int64_t stalled_key;           /* latest key when `stalled` was raised */
	char **failed;                 /* checkpoints with an open prune_failed */
	size_t nfailed;
	/* pins.json */
	int64_t *pins;
	size_t npins;
	/* state.json: the prune in flight */
	bool pending;
	char pending_name[CKPTD_NAME_MAX];
	char pending_action[16];
	int64_t pending_key;
	uint64_t pending_seq;          /* nevents when the prune started */
	char last_pruned[CKPTD_NAME_MAX]; /* checkpoint of the newest `pruned` */
	struct json_object *snapshot;  /* last status snapshot, owned */
};

struct ckptd_statedir {
	int dirfd;                     /* STATE_DIR/RUN */
	int events_fd;                 /* events.jsonl, O_APPEND */
	char run[72];
};

/* Create (0700) and open STATE_DIR/RUN.  0, or -1 with errno. */
int state_open(const char *state_dir, const char *run, struct ckptd_statedir *sd);
void state_close(struct ckptd_statedir *sd);

/* Fold events.jsonl (a torn last line, left by a crash mid-append, is cut
 * off), read pins.json and state.json.  0, or -1 with errno. */
int state_load(struct ckptd_statedir *sd, struct ckptd_state *st);
void state_free(struct ckptd_state *st);

/* Re-read pins.json only. */
int state_load_pins(struct ckptd_statedir *sd, struct ckptd_state *st);
bool state_pinned(const struct ckptd_state *st, int64_t key);

/* Append one event {"ts","run","event","key",...fields}, make it durable
 * and fold it into st.  fields (may be NULL) is consumed.  has_key false
 * writes "key": null.  With line non-NULL, *line gets a malloc'd copy of
 * the JSON written (for hooks' stdin).  0, or -1 with errno. */
int state_event(struct ckptd_statedir *sd, struct ckptd_state *st, const char *event,
                bool has_key, int64_t key, struct json_object *fields, char **line);

/* Fold an event into st without writing it (a dry run remembers what it
 * would have done, so that it says so once).  fields is consumed. */
int state_remember(struct ckptd_state *st, const char *event, bool has_key, int64_t key,
                   struct json_object *fields);

/* Record (or clear, with name NULL) the prune in flight in state.json,
 * together with the status snapshot (consumed; may be NULL). */
int state_save(struct ckptd_statedir *sd, struct ckptd_state *st, struct json_object *snapshot);
int state_set_pending(struct ckptd_statedir *sd, struct ckptd_state *st, const char *name,
                      int64_t key, const char *action);

bool state_failed(const struct ckptd_state *st, const char *name);

/* ISO-8601 UTC with milliseconds, e.g. 2026-12-03T16:40:00.123Z. */
void state_timestamp(char *buf, size_t len);

/* pins.json of a run, for `ckptctl pin/unpin` (atomic).  0 or -1. */
int pins_write(struct ckptd_statedir *sd, const int64_t *pins, size_t n);

#endif
