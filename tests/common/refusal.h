/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The words of a refusal, for the tables of inputs the library must refuse. */
#ifndef REFUSAL_H
#define REFUSAL_H

/*
 * daxalloc_errmsg(), after a call refused @in, holds @says; otherwise the
 * test fails, naming the input and the message.
 */
void refusal_expect_says(const char *in, const char *says);

#endif
