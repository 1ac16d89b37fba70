// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdaxalloc-preload.so on the stand-in: a program that knows nothing of
 * the library (preload-probe) gets its heap on the device, in threads,
 * across fork and exec, with a threshold, and when the device is full
 * goes on in DRAM (said once) or fails, as asked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[8192], err[8192];

/* Run the probe under the preload library; returns its exit status. */
static int probe(const char *env, const char *args)
{
	char cmd[2048], path[64];
	const char *preload = getenv("PRELOAD_LIB"), *bin = getenv("PRELOAD_PROBE");
	FILE *f;
	size_t n;
	int rc;

	cr_assert(preload && bin, "PRELOAD_LIB and PRELOAD_PROBE must be set");
	snprintf(path, sizeof(path), "/tmp/preload-err.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "env DAXALLOC_HEAP_DEVICE=hugetlb:2M:64M %s LD_PRELOAD=%s %s %s 2>%s", env,
		 preload, bin, args, path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	rc = pclose(f);
	f = fopen(path, "r");
	n = f ? fread(err, 1, sizeof(err) - 1, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	unlink(path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Run the probe; it must succeed and print exactly @want. */
static void probe_says(const char *env, const char *args, const char *want)
{
	cr_assert_eq(probe(env, args), 0, "%s", err);
	cr_expect_str_eq(out, want);
}

TestSuite(preload, .timeout = 300);

Test(preload, small_and_large_on_the_device)
{
	probe_says("", "where 24", "device\n");
	probe_says("", "where 1000000", "device\n");
}

Test(preload, threshold)
{
	probe_says("DAXALLOC_HEAP_THRESHOLD=4K", "where 100", "dram\n");
	probe_says("DAXALLOC_HEAP_THRESHOLD=4K", "where 8192", "device\n");
	/* A DRAM object that grows past the threshold moves to the device. */
	probe_says("DAXALLOC_HEAP_THRESHOLD=4K", "grow", "dram device\n");
}

Test(preload, threads)
{
	probe_says("", "threads", "threads: ok\n");
}

Test(preload, fork)
{
	probe_says("", "fork", "fork: ok\n");
}

Test(preload, exec)
{
	probe_says("", "exec", "device\nexec: ok\n");
}

Test(preload, full_goes_to_dram_and_says_so_once)
{
	unsigned dev, dram, failed;

	cr_assert_eq(probe("DAXALLOC_HEAP_SIZE=8M", "fill 25165824"), 0, "%s", err);
	cr_assert_eq(sscanf(out, "device %u dram %u failed %u", &dev, &dram, &failed), 3, "%s", out);
	cr_expect(dev >= 4 && dev <= 8, "%u blocks of 1 MiB in an 8 MiB heap", dev);
	cr_expect_eq(dev + dram, 24);
	cr_expect_eq(failed, 0);
	const char *said = strstr(err, "is full");
	cr_assert_not_null(said, "%s", err);
	cr_expect_null(strstr(said + 1, "is full"), "said more than once: %s", err);
}

Test(preload, full_fails_when_asked)
{
	unsigned dev, dram, failed;

	cr_assert_eq(probe("DAXALLOC_HEAP_SIZE=8M DAXALLOC_HEAP_FULL=fail", "fill 25165824"), 0,
		     "%s", err);
	cr_assert_eq(sscanf(out, "device %u dram %u failed %u", &dev, &dram, &failed), 3, "%s", out);
	cr_expect(dev >= 4 && dev <= 8, "%u", dev);
	cr_expect_eq(dram, 0);
	cr_expect_eq(dev + failed, 24);
}

Test(preload, no_device_stays_in_dram)
{
	probe_says("DAXALLOC_HEAP_DEVICE=nosuchdev", "where 100", "dram\n");
	cr_expect_not_null(strstr(err, "stays in DRAM"), "%s", err);
}
