/* fuzz_config_one.h - one fuzz input for the config loader: the bytes
 * as YAML text through config_parse; whatever it returns is printed (the
 * diagnostics, to /dev/null) and freed.  Always returns 0: the loader
 * has no property to check beyond not crashing, hanging or leaking. */
#ifndef CKPTD_FUZZ_CONFIG_ONE_H
#define CKPTD_FUZZ_CONFIG_ONE_H

#include <stdint.h>
#include <stdio.h>

#include "ckptd/config.h"

static int fuzz_config_one(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	struct ckptd_config *c = NULL;
	struct ckptd_diags d = { 0 };
	int rc = config_parse("fuzz.yaml", (const char *)data, size, &c, &d);
	if (rc == 0) {
		if (!c || c->nruns == 0)
			__builtin_trap(); /* accepted, yet nothing to watch */
		for (size_t i = 0; i < c->nruns; i++)
			if (config_find_run(c, c->runs[i].name) == NULL)
				__builtin_trap();
	}
	if (devnull)
		diags_print(&d, devnull);
	diags_free(&d);
	config_free(c);
	return 0;
}

#endif
