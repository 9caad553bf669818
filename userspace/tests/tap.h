/* SPDX-License-Identifier: GPL-2.0 */
/* minimal TAP output for vdirtctl's host unit tests */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_PLAN(n) do { printf("TAP version 13\n1..%d\n", (n)); } while (0)
#define OK(cond, ...) do {						\
	tap_n++;							\
	if (cond) {							\
		printf("ok %d - ", tap_n);				\
	} else {							\
		tap_failed++;						\
		printf("not ok %d - ", tap_n);				\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!(cond))							\
		printf("# failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
} while (0)
#define TAP_DONE() do {							\
	fflush(stdout);							\
	return tap_failed ? 1 : 0;					\
} while (0)
