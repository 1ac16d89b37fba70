// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The cross-process pin ledger on its own, in a private $DAXALLOC_RUNDIR:
 * records of live processes are seen by others, records of dead ones are
 * ignored and pruned, a foreign file is refused, slots are reused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pin.h"

#define DEV "dax7.7"

static char dir[] = "/tmp/daxalloc-ledger-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	setenv("DAXALLOC_RUNDIR", dir, 1);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(ledger, .init = setup, .fini = teardown, .timeout = 60);

static struct pin_ledger_rec rec(uint64_t id, uint64_t offset, const char *consumer)
{
	struct pin_ledger_rec r = { 0 };

	cr_assert_eq(pin_ledger_owner(&r), 0, "%s", daxalloc_errmsg());
	r.id = id;
	r.offset = offset;
	r.length = 2 << 20;
	r.kind = DAXALLOC_PIN_VFIO;
	snprintf(r.command, sizeof(r.command), "ledger-test");
	snprintf(r.consumer, sizeof(r.consumer), "%s", consumer);
	return r;
}

static off_t file_size(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" DEV ".pins", dir);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

Test(ledger, empty_when_nothing_was_recorded)
{
	char who[128];

	cr_expect_eq(pin_ledger_count(DEV, who, sizeof(who)), 0);
	cr_expect_str_eq(who, "nobody");
	cr_expect_eq(file_size(), -1, "reading must not create the ledger");
	cr_expect_eq(pin_ledger_count("/dev/" DEV, NULL, 0), 0, "a /dev path names the device too");
}

Test(ledger, add_remove_and_slot_reuse)
{
	struct pin_ledger_rec a = rec(1, 0x200000, "vfio container fd 5, iova 0x1000000");
	struct pin_ledger_rec b = rec(2, 0x400000, "rdma rxe0");
	struct pin_ledger_rec c = rec(3, 0x600000, "io_uring fd 4, buffer 0");
	struct pin_ledger_rec *v;
	int sa, sb, sc;

	cr_assert_eq(pin_ledger_add(DEV, &a, &sa), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(pin_ledger_add(DEV, &b, &sb), 0);
	cr_expect_eq(sa, 0);
	cr_expect_eq(sb, 1);
	cr_expect_eq(file_size(), 64 + 2 * 256);
	cr_expect_eq(pin_ledger_remove(DEV, sa, 99), -ENOENT, "another id is not ours");
	cr_expect_eq(pin_ledger_remove(DEV, sa, 1), 0);
	cr_assert_eq(pin_ledger_add(DEV, &c, &sc), 0);
	cr_expect_eq(sc, 0, "the freed slot is reused");
	cr_assert_eq(pin_ledger_read(DEV, &v), 2);
	cr_expect_eq(v[0].offset, 0x400000, "sorted by device offset");
	cr_expect_str_eq(v[0].consumer, "rdma rxe0");
	cr_expect_eq(v[1].offset, 0x600000);
	free(v);
	cr_expect_eq(pin_ledger_set_consumer(DEV, sc, 3, "io_uring fd 4, buffers 0-1"), 0);
	cr_assert_eq(pin_ledger_read(DEV, &v), 2);
	cr_expect_str_eq(v[1].consumer, "io_uring fd 4, buffers 0-1");
	free(v);
	cr_expect_eq(pin_ledger_remove(DEV, sb, 2), 0);
	cr_expect_eq(pin_ledger_remove(DEV, sc, 3), 0);
	cr_expect_eq(pin_ledger_count(DEV, NULL, 0), 0);
	cr_expect_eq(file_size(), 64, "trailing free records are cut off");
}

/* A child records a pin and waits; the parent sees it, then sees it go. */
Test(ledger, other_process_visible_until_it_dies)
{
	int up[2], hold[2], st;
	char who[256], pid[32], c;
	pid_t child;

	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(hold), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct pin_ledger_rec r = rec(1, 0x200000, "vfio container fd 9, iova 0x0");
		int slot;

		close(up[0]);
		close(hold[1]);
		if (pin_ledger_add(DEV, &r, &slot) < 0)
			_exit(1);
		write(up[1], "k", 1);
		read(hold[0], &c, 1);	/* until the parent lets go: never */
		_exit(0);
	}
	close(up[1]);
	close(hold[0]);
	cr_assert_eq(read(up[0], &c, 1), 1, "the child could not record its pin");
	snprintf(pid, sizeof(pid), "pid %d (ledger-test)", child);
	cr_expect_eq(pin_ledger_count(DEV, who, sizeof(who)), 1);
	cr_expect(strstr(who, "vfio container fd 9") && strstr(who, pid), "who: %s", who);
	/* The parent cannot remove the child's record. */
	cr_expect_eq(pin_ledger_remove(DEV, 0, 1), -ENOENT);

	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_expect_eq(pin_ledger_count(DEV, who, sizeof(who)), 0, "a dead owner's pin is gone");
	cr_expect_eq(file_size(), 64, "and pruned from the file");
	close(up[0]);
	close(hold[1]);
}

Test(ledger, records_of_an_earlier_boot_or_reused_pid_are_ignored)
{
	struct pin_ledger_rec old_boot = rec(1, 0, "vfio old boot");
	struct pin_ledger_rec reused = rec(2, 0x200000, "vfio reused pid");
	int s;

	old_boot.boot ^= 1;
	reused.start += 1;	/* same pid, another process */
	cr_assert_eq(pin_ledger_add(DEV, &old_boot, &s), 0);
	cr_assert_eq(pin_ledger_add(DEV, &reused, &s), 0);
	cr_expect_eq(s, 0, "the dead record's slot is taken over");
	cr_expect_eq(pin_ledger_count(DEV, NULL, 0), 0);
	cr_expect_eq(file_size(), 64);
}

Test(ledger, a_foreign_file_is_refused)
{
	char path[256];
	int fd, slot;
	struct pin_ledger_rec r = rec(1, 0, "x");

	snprintf(path, sizeof(path), "%s/" DEV ".pins", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a ledger, just some bytes of something else entirely....!!!", 64), 64);
	close(fd);
	cr_expect_eq(pin_ledger_count(DEV, NULL, 0), -EPROTO);
	cr_expect(strstr(daxalloc_errmsg(), "is not a pin ledger"), "%s", daxalloc_errmsg());
	cr_expect_eq(pin_ledger_add(DEV, &r, &slot), -EPROTO);
}

Test(ledger, unusable_rundir_says_what_to_set)
{
	char file[300];
	struct pin_ledger_rec r = rec(1, 0, "x");
	int slot, fd;

	snprintf(file, sizeof(file), "%s/plain-file", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	setenv("DAXALLOC_RUNDIR", file, 1);
	cr_expect_lt(pin_ledger_add(DEV, &r, &slot), 0);
	cr_expect(strstr(daxalloc_errmsg(), "DAXALLOC_RUNDIR"), "%s", daxalloc_errmsg());
	cr_expect_eq(pin_ledger_count("../etc", NULL, 0), -EINVAL);
}

/* A link or a FIFO planted in a shared folder must not take the records. */
Test(ledger, a_planted_link_or_fifo_is_refused)
{
	char path[256], target[256];
	struct pin_ledger_rec r = rec(1, 0, "x");
	struct stat st;
	int slot;

	snprintf(path, sizeof(path), "%s/" DEV ".pins", dir);
	snprintf(target, sizeof(target), "%s/victim", dir);
	cr_assert_eq(symlink(target, path), 0);
	cr_expect_eq(pin_ledger_add(DEV, &r, &slot), -ELOOP);
	cr_expect(strstr(daxalloc_errmsg(), "symbolic link"), "%s", daxalloc_errmsg());
	cr_expect_eq(pin_ledger_count(DEV, NULL, 0), -ELOOP);
	cr_expect_eq(stat(target, &st), -1, "the link was followed: %s exists", target);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0644), 0);
	cr_expect_eq(pin_ledger_add(DEV, &r, &slot), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "not a regular file"), "%s", daxalloc_errmsg());
}
