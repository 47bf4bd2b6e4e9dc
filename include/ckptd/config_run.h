/* config_run.h - private to config.c and config_run.c: the parser's
 * state and the keys of one run.  Nothing else includes it. */
#ifndef CKPTD_CONFIG_RUN_H
#define CKPTD_CONFIG_RUN_H

#include "ckptd/config.h"
#include "ckptd/yamlwalk.h"

struct cfg {
	struct yw w;
	struct ckptd_config *c;
	unsigned *name_line;     /* line of each run's name, for duplicates */
};

/* p resolved against dir when relative (dir may be NULL), then cleaned
 * lexically: no "//", no "." or ".." components, no trailing '/'.
 * NULL when out of memory. */
char *cfg_clean_path(const char *dir, const char *p);

void cfg_run_defaults(struct ckptd_run *r);
/* A duration value; a located error when it is not one.  0 or -1. */
int cfg_duration(struct cfg *c, const yaml_node_t *n, const char *what, int64_t *ms);
/* Every key of the run mapping m but name and dir, which r has already. */
void cfg_run_sections(struct cfg *c, const struct yw_map *m, struct ckptd_run *r);

#endif
