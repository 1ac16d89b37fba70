/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daxalloc-ctl's options: every command lists the ones it takes in one
 * table built from the entries below (as daxctl builds its tables from
 * BASE_OPTIONS() and friends), and ctl_parse() reads argv against it.
 * The usage lines, --help, the refusal of another command's option and
 * the documentation checks all come from the same tables.
 */
#ifndef DAXALLOC_CTL_OPTIONS_H
#define DAXALLOC_CTL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

/* Values above 0xff have no short form. */
enum {
	CTL_O_REPAIR = 0x100,
	CTL_O_POPULATE,
	CTL_O_SYNC,
	CTL_O_REGION,
	CTL_O_DESTROY,
	CTL_O_IGNORE_DMA,
	CTL_O_ID,
	CTL_O_NUMA,
	CTL_O_MODE,
	CTL_O_READ_ONLY,
	CTL_O_LIBVIRT,
	CTL_O_MEASURE,
	CTL_O_CYCLES,
	CTL_O_PIN_WITH,
	CTL_O_NO_PIN,
};

/* How an option shows in the usage line. */
enum {
	CTL_OPT_REQUIRED = 1 << 0, /* no brackets */
	CTL_OPT_OR = 1 << 1,       /* an alternative to the option before it */
};

struct ctl_opt {
	const char *name;   /* the long name, without "--" */
	int val;            /* the short letter, or CTL_O_* */
	const char *arg;    /* the value's name in the usage; NULL: a flag */
	const char *help;   /* one line for --help */
	unsigned int flags; /* CTL_OPT_* */
	int within;         /* the val of the option this one only goes with, or 0 */
};

/*
 * One entry each, with the help every command shares; a command that
 * means something more by an option, or needs it, writes its own line
 * with CTL_OPT().
 */
#define CTL_OPT(n, v, a, h, ...)                                      \
	{                                                             \
		.name = n, .val = v, .arg = a, .help = h, __VA_ARGS__ \
	}
#define CTL_OPT_HELP CTL_OPT("help", 'h', NULL, "print this help and exit", 0)
#define CTL_OPT_JSON CTL_OPT("json", 'j', NULL, "print JSON (schema in daxalloc-ctl(1))", 0)
#define CTL_OPT_DESTROY \
	CTL_OPT("destroy-data", CTL_O_DESTROY, NULL, "allow what destroys the device's contents", 0)
#define CTL_OPT_IGNORE_DMA                            \
	CTL_OPT("ignore-dma", CTL_O_IGNORE_DMA, NULL, \
		"go on although DMA into the device may be under way", 0)
#define CTL_OPT_REGION                       \
	CTL_OPT("region", CTL_O_REGION, "N", \
		"the dax region to use (default: the first that fits)", 0)
#define CTL_OPT_ALIGN(h, ...) CTL_OPT("align", 'a', "4K|2M|1G", h, __VA_ARGS__)
#define CTL_OPT_SIZE(h, ...) CTL_OPT("size", 's', "SIZE", h, __VA_ARGS__)
#define CTL_OPT_FORCE(h, ...) CTL_OPT("force", 'f', NULL, h, __VA_ARGS__)
#define CTL_OPT_END          \
	{                    \
		.name = NULL \
	}

/* What every command takes. */
#define CTL_BASE_OPTIONS CTL_OPT_HELP
/* What every command that changes a device's configuration takes. */
#define CTL_RECONFIG_OPTIONS CTL_OPT_DESTROY, CTL_OPT_IGNORE_DMA
/* A new device in a dynamic dax region: create-device, vm-backing. */
#define CTL_NEW_DEVICE_OPTIONS(default_align)                \
	CTL_OPT_SIZE("the device's size", CTL_OPT_REQUIRED), \
		CTL_OPT_ALIGN("its alignment (default " default_align ")", 0), CTL_OPT_REGION

/* The options given, once parsed. */
struct ctl_args {
	bool json, force, repair, populate, sync, numa, read_only, libvirt;
	bool measure, no_pin;
	unsigned int reconfig_flags; /* DAXALLOC_RECONFIG_* */
	uint64_t size, offset, align;
	bool size_given, offset_given, align_given;
	const char *name, *id, *mode, *pin_with;
	int region; /* -1: not given */
	int cycles; /* 0: not given */
	char **pos; /* the arguments after the options */
	int npos;
};

/*
 * Reads the options of command @cmd (table @opts) from @argv into @a;
 * 0, or the exit status to return: CTL_DONE after --help, CTL_USAGE after
 * one line naming the option and the rule it breaks.
 */
int ctl_parse(const char *cmd, const struct ctl_opt *opts, int argc, char **argv, struct ctl_args *a);
/* "DEV [--force] [--json]": the usage of @cmd after its name, from its table. */
void ctl_usage_line(const char *pos, const struct ctl_opt *opts, char *buf, size_t len);
/* One line per option of @opts, with its help, on stdout. */
void ctl_print_options(const struct ctl_opt *opts);

#endif
