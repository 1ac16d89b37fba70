// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reads of pool metadata that survive a SIGBUS.
 *
 * Why a library installs a signal handler: Linux offers user space no
 * machine-check-safe copy.  Poison the kernel already knows of is in the
 * bad-block list, which libpmem2 reads (PMDK relies on it alone) and
 * meta_read() never touches; poison nobody has consumed yet is not in
 * it, and the first load of it is a SIGBUS (BUS_MCEERR_AR) that would
 * kill every opener, check included.  So metadata is copied with the
 * thread's jump buffer armed; a SIGBUS in the range this thread copies
 * jumps back and the copy fails with -EIO, as a listed bad line does.
 *
 * Any other SIGBUS is not ours: it goes to the action the program had
 * when the handler was installed (with its mask and flags), or, when that
 * was the default, takes the default action as it would have without us.
 * The handler is installed once, at the first guarded copy, and
 * $DAXALLOC_SIGBUS_GUARD=0 leaves SIGBUS alone (copies are then plain).
 * A program that installs its own handler afterwards gets every SIGBUS,
 * the library's reads' too, as before the guard existed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sigbus.h"

struct guard {
	sigjmp_buf jb;
	uintptr_t lo, hi; /* the range being copied */
	uintptr_t fault;
	size_t granule;
	volatile sig_atomic_t armed;
};

/* Initial-exec: the handler reads it without a call that may allocate. */
static __thread struct guard guard __attribute__((tls_model("initial-exec")));
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct sigaction prev;
static bool installed;

static bool fault_code(int code)
{
	return code == BUS_ADRERR || code == BUS_MCEERR_AR || code == BUS_MCEERR_AO;
}

/* What a poisoned load spoils: its line, or the page the kernel took away. */
static size_t fault_granule(const siginfo_t *si)
{
	if (si->si_code == BUS_ADRERR)
		return 4096;
	/* A larger lsb (a 2M device page unmapped) does not make every line of it bad. */
	if (si->si_addr_lsb >= 6 && si->si_addr_lsb <= 12)
		return (size_t)1 << si->si_addr_lsb;
	return 64;
}

/* The program's action, as the kernel would have run it. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction p = prev, dfl = { .sa_handler = SIG_DFL };
	sigset_t old, mask = p.sa_mask;
	/* A fault the kernel forces: ignoring it cannot be, it kills. */
	bool forced = si->si_code > 0 && si->si_code != BUS_MCEERR_AO;

	if (!(p.sa_flags & SA_SIGINFO) && p.sa_handler == SIG_IGN && !forced)
		return;
	if (!(p.sa_flags & SA_SIGINFO) && (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN)) {
		/* Default: a fault runs again and kills; a sent signal is sent again. */
		sigaction(SIGBUS, &dfl, NULL);
		if (!forced)
			raise(sig);
		return;
	}
	if (p.sa_flags & SA_RESETHAND)
		prev = dfl;
	if (!(p.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (p.sa_flags & SA_NODEFER) {
		sigemptyset(&mask);
		sigaddset(&mask, sig);
		pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	}
	if (p.sa_flags & SA_SIGINFO)
		p.sa_sigaction(sig, si, uc);
	else
		p.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct guard *g = &guard;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (g->armed && fault_code(si->si_code) && a >= g->lo && a < g->hi) {
		g->armed = 0;
		g->fault = a;
		g->granule = fault_granule(si);
		siglongjmp(g->jb, 1);
	}
	chain(sig, si, uc);
}

static void install(void)
{
	const char *env = secure_getenv("DAXALLOC_SIGBUS_GUARD");
	struct sigaction sa = { .sa_sigaction = on_sigbus };

	if (env && strcmp(env, "0") == 0)
		return;
	/* No other signal blocked; restart and the alternate stack as the program chose. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, NULL, &prev) < 0)
		return;
	sa.sa_flags = SA_SIGINFO | (prev.sa_flags & (SA_RESTART | SA_ONSTACK));
	installed = sigaction(SIGBUS, &sa, &prev) == 0;
}

int sigbus_copy(void *dst, const void *src, size_t len, struct sigbus_fault *f)
{
	struct guard *g = &guard;

	pthread_once(&once, install);
	if (!installed || !len) {
		memcpy(dst, src, len);
		return 0;
	}
	g->lo = (uintptr_t)src;
	g->hi = g->lo + len;
	/* No mask saved (a system call per read): the handler's block of SIGBUS is undone below. */
	if (sigsetjmp(g->jb, 0)) {
		sigset_t bus;

		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		f->addr = g->fault;
		f->granule = g->granule;
		return -EIO;
	}
	/* Every load of the copy between arming and disarming. */
	g->armed = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	g->armed = 0;
	return 0;
}
