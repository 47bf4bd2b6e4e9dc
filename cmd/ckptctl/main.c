/* ckptctl - validate configs, explain a selection offline, show and pin
 * what the daemon decided.
 * Flags and wiring only: the work is in the library. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#ifndef CKPTD_VERSION
#define CKPTD_VERSION "0.1.0"
#endif

void ctl_usage(FILE *f)
{
	fputs("usage: ckptctl check [-c FILE]\n"
	      "       ckptctl pick [--by METRIC[:min|max][@TOL]]... [--require METRIC>=X|METRIC<=X]...\n"
	      "                    [--key epoch|step] [--stop METRIC[:min|max] --patience N [--min-delta D]]\n"
	      "                    [-c FILE -r RUN] [--json] [METRICS_FILE]\n"
	      "       ckptctl status [-c FILE] [RUN] [--json]\n"
	      "       ckptctl pin [-c FILE] RUN KEY\n"
	      "       ckptctl unpin [-c FILE] RUN KEY\n"
	      "       ckptctl --version | -h\n", f);
}

struct ckptd_config *ctl_load_config(const char *path)
{
	struct ckptd_config *cfg = NULL;
	struct ckptd_diags diags = { 0 };
	if (config_load(path, &cfg, &diags) < 0) {
		diags_print(&diags, stderr);
		diags_free(&diags);
		return NULL;
	}
	diags_free(&diags);
	return cfg;
}

int ctl_check(int argc, char **argv)
{
	const char *path = CKPTD_DEFAULT_CONFIG;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ckptctl check: unexpected argument '%s'\n", argv[optind]);
		ctl_usage(stderr);
		return EX_USAGE;
	}
	struct ckptd_config *cfg = ctl_load_config(path);
	if (!cfg)
		return EX_CONFIG;
	config_free(cfg);
	puts("ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		ctl_usage(stderr);
		return EX_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		ctl_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		puts("ckptctl " CKPTD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "check") == 0)
		return ctl_check(argc - 1, argv + 1);
	if (strcmp(cmd, "pick") == 0)
		return ctl_pick(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return ctl_status(argc - 1, argv + 1);
	if (strcmp(cmd, "pin") == 0)
		return ctl_pin(argc - 1, argv + 1);
	if (strcmp(cmd, "unpin") == 0)
		return ctl_unpin(argc - 1, argv + 1);
	fprintf(stderr, "ckptctl: unknown command '%s'\n", cmd);
	ctl_usage(stderr);
	return EX_USAGE;
}
