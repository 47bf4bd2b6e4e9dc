/* ctl.h - ckptctl's subcommands: main.c dispatches, one file each. */
#ifndef CKPTCTL_CTL_H
#define CKPTCTL_CTL_H

#include <stdio.h>

#include "ckptd/config.h"

/* Exit codes (sysexits.h), as SPEC.md lists them. */
#include <sysexits.h>

int ctl_check(int argc, char **argv);
int ctl_pick(int argc, char **argv);
int ctl_status(int argc, char **argv);  /* status.c: read-only */
int ctl_pin(int argc, char **argv);     /* pin.c */
int ctl_unpin(int argc, char **argv);

/* Load a config; on failure print its located errors to stderr and return
 * NULL (the caller exits EX_CONFIG). */
struct ckptd_config *ctl_load_config(const char *path);
void ctl_usage(FILE *f);

#endif
