// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A small program that knows nothing of libdaxalloc, run under
 * libdaxalloc-preload.so by test-preload.c.  It reports where its
 * allocations land by looking each pointer up in /proc/self/maps.
 *
 *   preload-probe where SIZE      print "device" or "dram" for malloc(SIZE)
 *   preload-probe threads         4 threads, objects freed by other threads
 *   preload-probe fork            data survives fork in parent and child
 *   preload-probe exec            the exec'd program's heap is on the device
 *   preload-probe fill SIZE       allocate 1 MiB blocks up to SIZE; print how
 *                                 many were on the device, in DRAM, failed
 *   preload-probe grow            a small DRAM object grows past the threshold
 * Exit 0 when every check held.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* "device" if @p lies in a devdax or stand-in (memfd:hugetlb) mapping. */
static const char *where(const void *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	const char *w = "dram";

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char *name = strchr(line, '/');

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || (uintptr_t)p < lo || (uintptr_t)p >= hi)
			continue;
		if (name &&
		    (strncmp(name, "/dev/dax", 8) == 0 || strncmp(name, "/memfd:hugetlb", 14) == 0))
			w = "device";
		break;
	}
	if (f)
		fclose(f);
	return w;
}

/* clang-format off */
#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "probe: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                        \
		}                                                                       \
	} while (0)
/* clang-format on */

/* Fork once @s is on the device: the child's pid, or 0 in the child. */
static pid_t fork_from_device(const char *s)
{
	pid_t pid;

	CHECK(strcmp(where(s), "device") == 0);
	pid = fork();
	CHECK(pid >= 0);
	return pid;
}

/* Child @pid exits 0. */
static void child_ok(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void *volatile mailbox[16];
/* Heap pointers the compiler must not reason about: another process may write there. */
static char *volatile escaped;

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	for (int i = 0; i < 200000; i++) {
		size_t n = 16 + (i * 37 + id) % 3000;
		unsigned char *p = malloc(n);

		CHECK(p);
		memset(p, (int)id, n);
		p = __atomic_exchange_n(&mailbox[(i + id) % 16], p, __ATOMIC_ACQ_REL);
		if (p) {
			for (int k = 1; k < 16; k++)
				CHECK(p[k] == p[0]);
			free(p);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "where") == 0 && argc > 2) {
		void *p = malloc(strtoul(argv[2], NULL, 0));

		CHECK(p);
		printf("%s\n", where(p));
		free(p);
		return 0;
	}
	if (strcmp(cmd, "threads") == 0) {
		pthread_t t[4];

		for (uintptr_t i = 0; i < 4; i++)
			CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < 16; i++)
			free(mailbox[i]);
		printf("threads: ok\n");
		return 0;
	}
	if (strcmp(cmd, "fork") == 0) {
		char *s = escaped = strdup("before fork");
		pid_t pid = fork_from_device(s);

		if (pid == 0) {
			CHECK(strcmp(s, "before fork") == 0);
			strcpy(s, "child wrote"); /* its own copy */
			for (int i = 0; i < 10000; i++)
				CHECK(malloc(64));
			_exit(0);
		}
		child_ok(pid);
		CHECK(strcmp(s, "before fork") == 0);
		for (int i = 0; i < 10000; i++) {
			char *q = malloc(64);
			CHECK(q && strcmp(where(q), "device") == 0);
			strcpy(q, "parent");
			if (i % 1000 == 0)
				CHECK(strcmp(s, "before fork") == 0);
		}
		printf("fork: ok\n");
		return 0;
	}
	if (strcmp(cmd, "exec") == 0) {
		pid_t pid = fork_from_device(strdup("x"));

		if (pid == 0) {
			execl("/proc/self/exe", argv[0], "where", "100", (char *)NULL);
			_exit(127);
		}
		child_ok(pid);
		printf("exec: ok\n");
		return 0;
	}
	if (strcmp(cmd, "fill") == 0 && argc > 2) {
		size_t total = strtoul(argv[2], NULL, 0) >> 20;
		unsigned dev = 0, dram = 0, failed = 0;

		for (size_t i = 0; i < total; i++) {
			char *p = malloc(1 << 20);

			if (!p) {
				failed++;
				continue;
			}
			memset(p, 1, 1 << 20);
			if (strcmp(where(p), "device") == 0)
				dev++;
			else
				dram++;
		}
		printf("device %u dram %u failed %u\n", dev, dram, failed);
		return 0;
	}
	if (strcmp(cmd, "grow") == 0) {
		char *p = malloc(100);

		strcpy(p, "grown");
		printf("%s ", where(p));
		p = realloc(p, 1 << 20);
		CHECK(strcmp(p, "grown") == 0);
		printf("%s\n", where(p));
		free(p);
		return 0;
	}
	fprintf(stderr,
		"usage: preload-probe where SIZE | threads | fork | exec | fill SIZE | grow\n");
	return 2;
}
