// SPDX-License-Identifier: GPL-2.0-or-later
/* daxalloc-ctl's entry point; the command itself is ctl_main() (daxalloc-ctl.c). */
#include "ctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
