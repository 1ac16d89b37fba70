// SPDX-License-Identifier: GPL-2.0-or-later
/* The one option parser of daxalloc-ctl, and the usage made from the same tables. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define MAX_OPTS 32

static size_t count(const struct ctl_opt *opts)
{
	size_t n = 0;

	while (opts[n].name)
		n++;
	return n;
}

/* "format, free, check": the commands whose table holds the option @name or short @c. */
static int owners(const char *name, int c, char *buf, size_t len)
{
	size_t ncmds, off = 0;
	const struct ctl_cmd *cmds = ctl_commands(&ncmds);
	int n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ncmds; i++)
		for (const struct ctl_opt *o = cmds[i].opts; o->name; o++) {
			if (o->val == 'h' || !(name ? strcmp(o->name, name) == 0 : o->val == c))
				continue;
			if (off < len)
				off += snprintf(buf + off, len - off, "%s%s", n++ ? ", " : "",
						cmds[i].name);
			break;
		}
	return n;
}

/* "--json, --force": what @opts offers besides --help. */
static void offered(const struct ctl_opt *opts, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct ctl_opt *o = opts; o->name; o++)
		if (o->val != 'h' && off < len)
			off += snprintf(buf + off, len - off, "%s--%s", off ? ", " : "", o->name);
	if (!buf[0])
		snprintf(buf, len, "none but --help");
}

/* One line naming the option given, the command and the rule: each takes only its own. */
static int refuse(const char *cmd, const struct ctl_opt *opts, int c, char **argv)
{
	char word[64], mine[512], theirs[512];
	const char *bad = argv[optind - 1];
	bool is_long = strncmp(bad, "--", 2) == 0;

	/* getopt names a short option in optopt: the word may be a cluster ("-jz"). */
	if (optopt && optopt < 0x100 && !is_long)
		snprintf(word, sizeof(word), "-%c", optopt);
	else
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(bad, "="), bad);
	if (c == ':')
		return ctl_fail(CTL_USAGE, "%s: %s needs a value (see '%s %s --help')", cmd, word,
				ctl_prog, cmd);
	/* "--json=1": getopt refuses a value given to a flag the same way. */
	for (const struct ctl_opt *o = opts; is_long && o->name; o++)
		if (strcmp(o->name, word + 2) == 0)
			return ctl_fail(CTL_USAGE, "%s: %s takes no value (see '%s %s --help')",
					cmd, word, ctl_prog, cmd);
	offered(opts, mine, sizeof(mine));
	if (owners(is_long ? word + 2 : NULL, is_long ? 0 : optopt, theirs, sizeof(theirs)))
		return ctl_fail(CTL_USAGE,
				"%s: %s is an option of %s, not of %s, which takes %s (see '%s %s --help')",
				cmd, word, theirs, cmd, mine, ctl_prog, cmd);
	return ctl_fail(CTL_USAGE, "%s: no option %s; %s takes %s (see '%s %s --help')", cmd, word,
			cmd, mine, ctl_prog, cmd);
}

static int number(const char *cmd, const char *opt, const char *arg, long lo, long hi,
		  const char *what, int *out)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*end || end == arg || n < lo || n > hi)
		return ctl_fail(CTL_USAGE, "%s: %s %s: %s", cmd, opt, arg, what);
	*out = (int)n;
	return 0;
}

static int take(const char *cmd, int c, struct ctl_args *a)
{
	switch (c) {
	/* clang-format off */
	case 'j': a->json = true; break;
	case 'f': a->force = true; break;
	case 'n': a->name = optarg; break;
	case 's':
		if (ctl_parse_size("--size", optarg, &a->size))
			return CTL_USAGE;
		a->size_given = true;
		break;
	case 'o':
		if (ctl_parse_size("--offset", optarg, &a->offset))
			return CTL_USAGE;
		a->offset_given = true;
		break;
	case 'a':
		if (ctl_parse_size("--align", optarg, &a->align))
			return CTL_USAGE;
		if (!daxalloc_align_is_valid(a->align))
			return ctl_fail(CTL_USAGE, "%s: --align %s: device-dax offers 4K, 2M or 1G",
					cmd, optarg);
		a->align_given = true;
		break;
	case CTL_O_REPAIR: a->repair = true; break;
	case CTL_O_POPULATE: a->populate = true; break;
	case CTL_O_SYNC: a->sync = true; break;
	case CTL_O_REGION:
		return number(cmd, "--region", optarg, 0, INT32_MAX,
			      "expected a dax region id (0, 1, ...)", &a->region);
	case CTL_O_DESTROY: a->reconfig_flags |= DAXALLOC_RECONFIG_DESTROY_DATA; break;
	case CTL_O_IGNORE_DMA: a->reconfig_flags |= DAXALLOC_RECONFIG_IGNORE_DMA; break;
	case CTL_O_ID: a->id = optarg; break;
	case CTL_O_NUMA: a->numa = true; break;
	case CTL_O_MODE: a->mode = optarg; break;
	case CTL_O_READ_ONLY: a->read_only = true; break;
	case CTL_O_LIBVIRT: a->libvirt = true; break;
	case CTL_O_MEASURE: a->measure = true; break;
	case CTL_O_CYCLES: {
		char what[64];

		snprintf(what, sizeof(what), "a number from 1 to %d", VMEMMAP_MAX_CYCLES);
		return number(cmd, "--cycles", optarg, 1, VMEMMAP_MAX_CYCLES, what,
			      &a->cycles);
	}
	case CTL_O_PIN_WITH: a->pin_with = optarg; break;
	case CTL_O_NO_PIN: a->no_pin = true; break;
	/* clang-format on */
	default:
		return ctl_fail(CTL_USAGE, "%s: option %d not handled", cmd, c);
	}
	return 0;
}

/*
 * getopt keeps its place inside the previous argv (glibc's nextchar) when a
 * parse stops early; optind = 0 makes it start afresh, so that ctl_main()
 * can run more than once in a process.
 */
static void getopt_reset(void)
{
	char *none[] = { (char *)ctl_prog, NULL };

	optind = 0;
	getopt(1, none, "");
}

int ctl_parse(const char *cmd, const struct ctl_opt *opts, int argc, char **argv, struct ctl_args *a)
{
	struct option lo[MAX_OPTS + 1] = { { 0 } };
	char shorts[2 * MAX_OPTS + 2] = ":"; /* ':' first: a missing value returns ':' */
	size_t n = count(opts), ns = 1;
	int c, rc;

	if (n > MAX_OPTS)
		return ctl_fail(CTL_FAILED, "%s: %zu options, more than %d", cmd, n, MAX_OPTS);
	for (size_t i = 0; i < n; i++) {
		lo[i] = (struct option){ opts[i].name, opts[i].arg ? required_argument : no_argument,
					 NULL, opts[i].val };
		if (opts[i].val > 0xff)
			continue;
		shorts[ns++] = (char)opts[i].val;
		if (opts[i].arg)
			shorts[ns++] = ':';
	}
	memset(a, 0, sizeof(*a));
	a->region = -1;
	getopt_reset();
	optind = 1;
	opterr = 0; /* getopt's own messages take two lines: ours take one */
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h')
			return ctl_help_cmd(cmd) ?: CTL_DONE;
		if (c == '?' || c == ':')
			return refuse(cmd, opts, c, argv);
		if ((rc = take(cmd, c, a)))
			return rc;
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return 0;
}

static size_t __attribute__((format(printf, 4, 5)))
put(char *buf, size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (off >= len)
		return off;
	va_start(ap, fmt);
	off += vsnprintf(buf + off, len - off, fmt, ap);
	va_end(ap);
	return off;
}

/* "--size SIZE" */
static size_t put_opt(char *buf, size_t len, size_t off, const struct ctl_opt *o)
{
	return put(buf, len, off, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/*
 * Options in table order; one that goes only with another sits in that
 * one's brackets ("[--repair [--force]]"); alternatives share a pair
 * ("[--libvirt|--json]"), or, required, stand side by side ("A | B").
 */
void ctl_usage_line(const char *pos, const struct ctl_opt *opts, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (pos && *pos)
		off = put(buf, len, off, "%s", pos);
	for (const struct ctl_opt *o = opts; o->name; o++) {
		bool req = o->flags & CTL_OPT_REQUIRED;

		if (o->val == 'h' || o->within || (o->flags & CTL_OPT_OR))
			continue;
		off = put(buf, len, off, "%s%s", off ? " " : "", req ? "" : "[");
		off = put_opt(buf, len, off, o);
		for (const struct ctl_opt *alt = o + 1; alt->name && (alt->flags & CTL_OPT_OR);
		     alt++) {
			off = put(buf, len, off, "%s", req ? " | " : "|");
			off = put_opt(buf, len, off, alt);
		}
		for (const struct ctl_opt *in = opts; in->name; in++) {
			if (in->within != o->val)
				continue;
			off = put(buf, len, off, " [");
			off = put_opt(buf, len, off, in);
			off = put(buf, len, off, "]");
		}
		off = put(buf, len, off, "%s", req ? "" : "]");
	}
}

void ctl_print_options(const struct ctl_opt *opts)
{
	printf("\noptions:\n");
	for (const struct ctl_opt *o = opts; o->name; o++) {
		char word[64];

		if (o->val < 0x100)
			snprintf(word, sizeof(word), "-%c, --%s%s%s", o->val, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(word, sizeof(word), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		printf("  %-26s %s\n", word, o->help);
	}
}
