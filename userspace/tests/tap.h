/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP output for vdirtctl's host unit tests (C).  TAP_START() prints
 * the header; TAP_DONE() prints the plan "1..N" with the number of OK()s
 * that ran (so adding a check needs no count edit) and returns 1 if one
 * failed.  A test that dies before TAP_DONE() prints no plan: tests/run
 * counts that as a failure.  The shell tests use tests/host/lib.sh.
 */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_START() do { printf("TAP version 13\n"); } while (0)
/* cond is evaluated once: it may have side effects (vsb_upgrade()) */
#define OK(cond, ...) do {						\
	int tap_ok_ = !!(cond);						\
									\
	tap_n++;							\
	if (tap_ok_) {							\
		printf("ok %d - ", tap_n);				\
	} else {							\
		tap_failed++;						\
		printf("not ok %d - ", tap_n);				\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!tap_ok_)							\
		printf("# failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
} while (0)
#define TAP_DONE() do {							\
	printf("1..%d\n", tap_n);					\
	fflush(stdout);							\
	return tap_failed ? 1 : 0;					\
} while (0)
