// SPDX-License-Identifier: GPL-2.0
/*
 * kprof: a tiny system-wide kernel profiler for the test guest, which has no
 * perf(1).  Samples every CPU with the software cpu-clock event (works under
 * QEMU TCG, no PMU needed) with kernel call chains, resolves them with
 * /proc/kallsyms and sorts each sample into one category, so the benchmark
 * can say where dm-vdirt's time goes (Documentation/benchmarks.rst).
 *
 *   kprof SECONDS [PERIOD_US]     (root; built static on the host by bench/run)
 *
 * Categories, first match: idle (the idle loop, not an interrupt taken in
 * it), hash, lock (leaf), copy (leaf a copy primitive, or under
 * vdirt_copy_bio), clock (leaf a clock read), metadata, alloc_free,
 * sched_workqueue (leaf), vdirt_other, block_virtio, kernel_other; user.
 *
 * Output lines: "total N", "cat NAME N" (each sample in exactly one), "inc
 * SYMBOL N" (samples with SYMBOL anywhere in the chain, dm-vdirt and
 * dm-bufio functions), "sym SYMBOL N" (leaf symbols, most frequent first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_PAGES 128
#define MAX_CPUS 64

struct ksym { uint64_t addr; char *name; };
static struct ksym *syms;
static size_t nsyms;

static int cmp_sym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void load_kallsyms(void)
{
	FILE *f;
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;

	f = fopen("/proc/sys/kernel/kptr_restrict", "w");
	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		perror("kallsyms");
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (nsyms == cap) {
			cap = cap ? cap * 2 : 65536;
			syms = realloc(syms, cap * sizeof(*syms));
		}
		syms[nsyms].addr = addr;
		syms[nsyms].name = strdup(name);
		nsyms++;
	}
	fclose(f);
	qsort(syms, nsyms, sizeof(*syms), cmp_sym);
	if (!nsyms || !syms[nsyms - 1].addr) {
		fprintf(stderr, "kprof: /proc/kallsyms shows no addresses\n");
		printf("error no kernel symbol addresses\n");
		exit(1);
	}
}

static const char *sym_of(uint64_t ip)
{
	size_t lo = 0, hi = nsyms;

	if (!nsyms || ip < syms[0].addr)
		return "?";
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (syms[mid].addr <= ip)
			lo = mid;
		else
			hi = mid;
	}
	return syms[lo].name;
}

/* counters by name */
struct count { const char *name; unsigned long n; };
#define MAXC 8192
static struct count leafc[MAXC], incc[MAXC], catc[32];
static size_t nleaf, ninc, ncat;
static unsigned long total;

static void bump(struct count *c, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (c[i].name == name || !strcmp(c[i].name, name)) {
			c[i].n++;
			return;
		}
	if (*n < MAXC) {
		c[*n].name = name;
		c[*n].n = 1;
		(*n)++;
	}
}

static int has(const char *s, const char *const *pats)
{
	for (; *pats; pats++)
		if (!fnmatch(*pats, s, 0))
			return 1;
	return 0;
}

static const char *const P_IDLE[] = { "do_idle", "default_idle*", "cpu_idle*",
	"*safe_halt*", "acpi_idle*", NULL };
/*
 * Interrupt and softirq entries: work below one of them in a chain that
 * ends in the idle loop (a completion handled while the CPU was idle) is
 * that work, not idle.
 */
static const char *const P_INTR[] = { "*common_interrupt", "sysvec_*", "__sysvec_*",
	"asm_sysvec_*", "handle_softirqs", "__do_softirq", "do_softirq*",
	"irq_exit_rcu", "__irq_exit_rcu", "handle_irq_event*", "handle_edge_irq",
	"handle_fasteoi_irq", NULL };
static const char *const P_HASH[] = { "*sha256", "*sha256_*", "sha256*", "*xxh64*",
	"*xxhash*", "crypto_shash_*", "shash_*", "*sha1_*", "*blake2*", "*crc32c*", NULL };
/* waiting for or taking a lock (not releasing one: see P_IRQWIN) */
static const char *const P_LOCK[] = { "*spin_lock", "*spin_lock_irq*", "*spin_lock_bh",
	"mutex_lock*", "__mutex_lock*", "mutex_spin_on_owner", "osq_lock", "*queued_spin*",
	"*_raw_*read_lock*", "*_raw_*write_lock*", "rwsem_*", "down_*", NULL };
/*
 * The cpu-clock event is a timer, not an NMI: a sample that falls in an
 * irq-disabled section lands where interrupts are enabled again.  Such a leaf
 * says nothing; the sample is classified by its callers.
 */
static const char *const P_IRQWIN[] = { "*spin_unlock_irq*", "handle_softirqs",
	"__do_softirq", "irq_exit_rcu", "finish_task_switch*", "irqentry_exit*",
	"*local_irq_restore*", "__irq_exit_rcu", NULL };
/*
 * Data copies: the leaf is a copy primitive (out of line memcpy, its
 * variants and the rep-movs helpers), or the chain is in dm-vdirt's bio
 * copy (vdirt_copy_bio, noinline: the rep movs it inlines land in it).
 */
static const char *const P_COPY[] = { "memcpy*", "__memcpy*", "*memmove*", "rep_movs*",
	"copy_page*", "copy_user*", "__copy_user*", "_copy_to_user", "_copy_from_user",
	"copy_to_user*", "copy_from_user*", "_copy_to_iter", "_copy_from_iter*",
	"copy_page_to_iter*", "copy_page_from_iter*", "copy_mc_*", "memcpy_orig",
	"memcpy_erms", NULL };
static const char *const P_COPYFN[] = { "vdirt_copy_bio", "vdirt_write_copy", NULL };
/*
 * Clock reads (ktime_get_real_ns is an HPET read under 6.1's TCG
 * clocksource); the leaf decides.
 */
static const char *const P_CLOCK[] = { "read_hpet", "hpet_*", "read_tsc", "acpi_pm_read*",
	"ktime_get*", "*clocksource*", "kvm_clock_*", "pvclock_*", NULL };
static const char *const P_META[] = { "dm_bufio_*", "__dm_bufio_*", "vdirt_entry_*",
	"vdirt_cursor_*", "vdirt_buf_*", "vdirt_cache_*", "vdirt_meta_read",
	"vdirt_commit*", "__vdirt_commit", "vdirt_write_sb",
	"vdirt_log_append", "vdirt_update_cluster", "vdirt_check_cluster", NULL };
/* vdirt's page bios by name: "vdirt_*page_bio" also took vdirt_hash_page_bio */
static const char *const P_ALLOC[] = { "mempool_*", "*alloc_pages*", "kmem_cache_*",
	"bio_alloc*", "bio_put", "bio_free", "__free_pages*", "free_unref*", "kfree",
	"__kmalloc*", "kmalloc*", "vdirt_alloc_page_bio", "vdirt_try_page_bio",
	"vdirt_free_page_bio", "vdirt_page_get", "vdirt_page_put", "*slab*",
	"___slab_*", "check_object", "*kfence*", NULL };
static const char *const P_SCHED[] = { "__schedule", "schedule*", "finish_task_switch*",
	"try_to_wake_up", "ttwu_*", "*queue_work*", "insert_work", "wake_up_*",
	"__wake_up*", "kick_pool", "worker_thread", "process_one_work", NULL };
static const char *const P_BLOCK[] = { "virtio*", "virtblk_*", "vring_*", "vp_*", "blk_*",
	"__blk_*", "submit_bio*", "bio_*", "dm_*", "__dm_*", "iomap_*", "aio_*", "io_*",
	"*_aio_*", NULL };

static void account(uint64_t *ips, uint64_t nr, int user)
{
	const char *names[128], *cat = NULL;
	uint64_t i, n = 0, leaf;

	total++;
	for (i = 0; i < nr && n < 128; i++) {
		if (ips[i] >= (uint64_t)-4095)	/* PERF_CONTEXT_* markers */
			continue;
		if (ips[i] < 0x8000000000000000ULL)
			continue;
		names[n++] = sym_of(ips[i]);
	}
	if (user || !n) {
		bump(catc, &ncat, user ? "user" : "unknown");
		return;
	}
	bump(leafc, &nleaf, names[0]);
	leaf = 0;
	while (leaf + 1 < n && has(names[leaf], P_IRQWIN))
		leaf++;
	for (i = 0; i < n; i++) {
		uint64_t k;

		if (strncmp(names[i], "vdirt_", 6) && strncmp(names[i], "dm_bufio", 8))
			continue;
		for (k = 0; k < i; k++)
			if (names[k] == names[i])
				break;
		if (k == i)
			bump(incc, &ninc, names[i]);
	}
	/* idle: the idle loop with no interrupt or softirq entry below it */
	for (i = leaf; i < n && !cat; i++) {
		if (has(names[i], P_INTR))
			break;
		if (has(names[i], P_IDLE))
			cat = "idle";
	}
	for (i = 0; i < n && !cat; i++)
		if (has(names[i], P_HASH))
			cat = "hash";
	if (!cat && has(names[leaf], P_LOCK))
		cat = "lock";
	if (!cat && has(names[leaf], P_COPY))
		cat = "copy";
	for (i = 0; i < n && !cat; i++)
		if (has(names[i], P_COPYFN))
			cat = "copy";
	if (!cat && has(names[leaf], P_CLOCK))
		cat = "clock";
	for (i = 0; i < n && !cat; i++)
		if (has(names[i], P_META))
			cat = "metadata";
	for (i = 0; i < n && !cat; i++)
		if (has(names[i], P_ALLOC))
			cat = "alloc_free";
	if (!cat && has(names[leaf], P_SCHED))
		cat = "sched_workqueue";
	for (i = 0; i < n && !cat; i++)
		if (!strncmp(names[i], "vdirt_", 6))
			cat = "vdirt_other";
	for (i = 0; i < n && !cat; i++)
		if (has(names[i], P_BLOCK))
			cat = "block_virtio";
	bump(catc, &ncat, cat ? cat : "kernel_other");
}

static int cmp_count(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5;
	long period_us = argc > 2 ? atol(argv[2]) : 1000;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), pg = sysconf(_SC_PAGESIZE);
	struct perf_event_attr attr;
	struct perf_event_mmap_page *meta[MAX_CPUS];
	int fd[MAX_CPUS], c;
	struct timespec t0, t;
	size_t i;

	if (ncpu > MAX_CPUS)
		ncpu = MAX_CPUS;
	load_kallsyms();
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = period_us * 1000;
	attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_CALLCHAIN;
	attr.exclude_callchain_user = 1;
	attr.disabled = 1;
	for (c = 0; c < ncpu; c++) {
		fd[c] = syscall(SYS_perf_event_open, &attr, -1, c, -1, 0);
		if (fd[c] < 0) {
			fprintf(stderr, "kprof: perf_event_open cpu %d: %s\n", c, strerror(errno));
			printf("error perf_event_open: %s\n", strerror(errno));
			return 1;
		}
		meta[c] = mmap(NULL, (RING_PAGES + 1) * pg, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd[c], 0);
		if (meta[c] == MAP_FAILED) {
			printf("error mmap: %s\n", strerror(errno));
			return 1;
		}
	}
	for (c = 0; c < ncpu; c++)
		ioctl(fd[c], PERF_EVENT_IOC_ENABLE, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int done;

		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		done = t.tv_sec - t0.tv_sec >= secs;
		if (done)
			for (c = 0; c < ncpu; c++)
				ioctl(fd[c], PERF_EVENT_IOC_DISABLE, 0);
		for (c = 0; c < ncpu; c++) {
			struct perf_event_mmap_page *m = meta[c];
			char *data = (char *)m + pg;
			uint64_t size = RING_PAGES * pg;
			uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE);
			uint64_t tail = m->data_tail;

			while (tail < head) {
				struct perf_event_header h;
				uint64_t buf[512];
				size_t off = tail % size, k;
				char *dst = (char *)buf;

				memcpy(&h, data + off, sizeof(h));
				if (h.size > sizeof(buf) || h.size < sizeof(h))
					break;
				for (k = 0; k < h.size; k++)
					dst[k] = data[(off + k) % size];
				if (h.type == PERF_RECORD_SAMPLE) {
					uint64_t *p = buf + 1;	/* after the header */
					uint64_t ip = p[0], nr = p[1];

					if (nr > (h.size - 24) / 8)
						nr = (h.size - 24) / 8;
					account(p + 2, nr, !(ip & 0x8000000000000000ULL) ||
						(h.misc & PERF_RECORD_MISC_CPUMODE_MASK) ==
						PERF_RECORD_MISC_USER);
				}
				tail += h.size;
			}
			__atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
		}
		if (done)
			break;
	}
	printf("total %lu\n", total);
	qsort(catc, ncat, sizeof(catc[0]), cmp_count);
	for (i = 0; i < ncat; i++)
		printf("cat %s %lu\n", catc[i].name, catc[i].n);
	qsort(incc, ninc, sizeof(incc[0]), cmp_count);
	for (i = 0; i < ninc && i < 40; i++)
		printf("inc %s %lu\n", incc[i].name, incc[i].n);
	qsort(leafc, nleaf, sizeof(leafc[0]), cmp_count);
	for (i = 0; i < nleaf && i < 40; i++)
		printf("sym %s %lu\n", leafc[i].name, leafc[i].n);
	return 0;
}
