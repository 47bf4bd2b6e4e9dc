/* records_io.c - a records table as JSON and back. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/records_io.h"

/* {"names": [...], "gen": G, "resumes": N, "last_key": K|null,
 *  "rows": [[key, gen, v0|null, v1|null, ...], ...]} */
struct json_object *records_to_json(const struct ckptd_records *r)
{
	struct json_object *o = json_object_new_object(), *names = json_object_new_array(),
	                   *rows = json_object_new_array();
	if (!o || !names || !rows) {
		json_object_put(o);
		json_object_put(names);
		json_object_put(rows);
		errno = ENOMEM;
		return NULL;
	}
	size_t nm = records_nmetrics(r);
	for (size_t i = 0; i < nm; i++)
		json_object_array_add(names, json_object_new_string(records_metric_name(r, i)));
	for (size_t i = 0; i < records_count(r); i++) {
		const struct ckptd_record *rec = records_at(r, i);
		struct json_object *row = json_object_new_array_ext((int)nm + 2);
		json_object_array_add(row, json_object_new_int64(rec->key));
		json_object_array_add(row, json_object_new_int64(rec->gen));
		for (size_t id = 0; id < nm; id++) {
			double v;
			json_object_array_add(row, record_get(rec, (int)id, &v) ? json_object_new_double(v) : NULL);
		}
		json_object_array_add(rows, row);
	}
	int64_t last;
	bool has_last = records_last_key(r, &last);
	json_object_object_add(o, "names", names);
	json_object_object_add(o, "gen", json_object_new_int64(records_gen(r)));
	json_object_object_add(o, "resumes", json_object_new_int64(records_resumes(r)));
	json_object_object_add(o, "last_key", has_last ? json_object_new_int64(last) : NULL);
	json_object_object_add(o, "rows", rows);
	return o;
}

static struct json_object *get(struct json_object *o, const char *k, enum json_type t)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, t) ? v : NULL;
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

int records_from_json(struct ckptd_records *r, struct json_object *o)
{
	struct json_object *names = get(o, "names", json_type_array), *rows = get(o, "rows", json_type_array);
	struct json_object *gen = get(o, "gen", json_type_int), *res = get(o, "resumes", json_type_int);
	struct json_object *last = get(o, "last_key", json_type_int);
	if (!names || !rows || !gen || !res) {
		errno = EINVAL;
		return -1;
	}
	size_t nm = json_object_array_length(names);
	struct ckptd_field *f = calloc(nm ? nm : 1, sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < nm; i++) {
		struct json_object *n = json_object_array_get_idx(names, i);
		if (!json_object_is_type(n, json_type_string)) {
			free(f);
			errno = EINVAL;
			return -1;
		}
		f[i].name = json_object_get_string(n);
		f[i].name_len = (size_t)json_object_get_string_len(n);
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) != nm + 2) {
			errno = EINVAL;
			rc = -1;
			break;
		}
		struct ckptd_field *cur = calloc(nm ? nm : 1, sizeof(*cur));
		size_t n = 0;
		if (!cur) {
			errno = ENOMEM;
			rc = -1;
			break;
		}
		for (size_t id = 0; id < nm; id++) {
			struct json_object *v = json_object_array_get_idx(row, id + 2);
			if (v && is_number(v)) {
				cur[n] = f[id];
				cur[n++].value = json_object_get_double(v);
			}
		}
		rc = records_put_saved(r, json_object_get_int64(json_object_array_get_idx(row, 0)),
		                       (uint32_t)json_object_get_int64(json_object_array_get_idx(row, 1)), cur, n);
		free(cur);
	}
	free(f);
	if (rc == 0)
		records_set_meta(r, (uint32_t)json_object_get_int64(gen), (uint32_t)json_object_get_int64(res),
		                 last != NULL, last ? json_object_get_int64(last) : 0);
	return rc;
}
