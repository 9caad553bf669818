// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: cluster -> file (files.h).  The map and its search are plain C
 * (also built without libtsk, for the unit tests); opening a disk, its
 * partition table and one walk per filesystem use The Sleuth Kit.
 *
 * The map is an array of ranges [start, end) of disk bytes sorted by start,
 * with maxend[i] = the largest end of ranges 0..i: the ranges overlapping
 * [a, b) are found by a binary search for the first start >= b, then a walk
 * down while maxend > a (ranges seldom overlap, so the walk is short).
 * Ranges: a file's data (path, inode, offset), directories (the directory
 * and the label "directory"), metadata that libtsk gives as files (ext
 * journal, NTFS system files) and that we read from the superblock (ext
 * superblock copies, group descriptors, bitmaps, inode tables; FAT boot
 * sectors and FATs), unallocated blocks (one block walk), and the partition
 * table's own sectors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

#ifdef WITH_TSK
#include <tsk/libtsk.h>
#endif

const char VFILES_UNALLOC[] = "unallocated";
#define PART_NONE UINT32_MAX

struct vf_file {
	char *path;
	uint64_t inode, size;
};

struct vfiles {
	uint64_t size;			/* disk bytes */
	const char *table;		/* "gpt", "dos", "none" */
	struct vfiles_part *parts;
	size_t nparts;
	struct vfiles_range *r;		/* sorted by start once built */
	size_t nr, ar;
	uint64_t *maxend;
	struct vf_file *f;
	size_t nf, af;
	uint64_t build_ns;
#ifdef WITH_TSK
	TSK_IMG_INFO *img;
	TSK_VS_INFO *vs;
	TSK_FS_INFO **fs;		/* per partition, NULL: unreadable */
#endif
};

static int add_range(struct vfiles *v, uint64_t start, uint64_t end, int64_t fidx, uint64_t foff,
		     const char *label, uint32_t part)
{
	struct vfiles_range *r;

	if (end <= start)
		return 0;
	if (v->nr == v->ar) {
		size_t na = v->ar ? v->ar * 2 : 1024;

		r = realloc(v->r, na * sizeof(*r));
		if (!r)
			return -ENOMEM;
		v->r = r;
		v->ar = na;
	}
	r = &v->r[v->nr++];
	r->start = start;
	r->end = end;
	r->fidx = fidx;
	r->foff = foff;
	r->label = label;
	r->part = part;
	return 0;
}

/* a new file table entry; its index or -ENOMEM (path is taken over) */
static int64_t add_file(struct vfiles *v, char *path, uint64_t inode, uint64_t size)
{
	if (!path)
		return -ENOMEM;
	if (v->nf == v->af) {
		size_t na = v->af ? v->af * 2 : 1024;
		struct vf_file *f = realloc(v->f, na * sizeof(*f));

		if (!f) {
			free(path);
			return -ENOMEM;
		}
		v->f = f;
		v->af = na;
	}
	v->f[v->nf].path = path;
	v->f[v->nf].inode = inode;
	v->f[v->nf].size = size;
	return v->nf++;
}

static int range_cmp(const void *a, const void *b)
{
	const struct vfiles_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* sort the ranges and compute maxend */
static int finish_map(struct vfiles *v)
{
	size_t i;

	qsort(v->r, v->nr, sizeof(*v->r), range_cmp);
	v->maxend = malloc((v->nr ? v->nr : 1) * sizeof(*v->maxend));
	if (!v->maxend)
		return -ENOMEM;
	for (i = 0; i < v->nr; i++)
		v->maxend[i] = i && v->maxend[i - 1] > v->r[i].end ? v->maxend[i - 1] : v->r[i].end;
	return 0;
}

void vfiles_close(struct vfiles *v)
{
	size_t i;

	if (!v)
		return;
#ifdef WITH_TSK
	for (i = 0; v->fs && i < v->nparts; i++)
		if (v->fs[i])
			tsk_fs_close(v->fs[i]);
	free(v->fs);
	if (v->vs)
		tsk_vs_close(v->vs);
	if (v->img)
		tsk_img_close(v->img);
#endif
	for (i = 0; i < v->nparts; i++) {
		free(v->parts[i].type);
		free(v->parts[i].error);
	}
	for (i = 0; i < v->nf; i++)
		free(v->f[i].path);
	free(v->parts);
	free(v->r);
	free(v->maxend);
	free(v->f);
	free(v);
}

uint64_t vfiles_size(const struct vfiles *v)
{
	return v->size;
}

const char *vfiles_table(const struct vfiles *v)
{
	return v->table;
}

size_t vfiles_nparts(const struct vfiles *v)
{
	return v->nparts;
}

const struct vfiles_part *vfiles_part(const struct vfiles *v, size_t i)
{
	return i < v->nparts ? &v->parts[i] : NULL;
}

size_t vfiles_nranges(const struct vfiles *v)
{
	return v->nr;
}

uint64_t vfiles_build_ns(const struct vfiles *v)
{
	return v->build_ns;
}

void vfiles_result_free(struct vfiles_result *res)
{
	free(res->files);
	free(res->meta_buf);
	memset(res, 0, sizeof(*res));
}

/* the first index whose start >= b */
static size_t first_at_or_after(const struct vfiles *v, uint64_t b)
{
	size_t lo = 0, hi = v->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->r[mid].start < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_owner(struct vfiles_result *res, size_t *alloc, const struct vf_file *f,
		     uint64_t foff, uint64_t len)
{
	struct vfiles_owner *o;
	size_t i;

	/* clip at the file's size: bytes past it are slack */
	len = foff >= f->size ? 0 : (len < f->size - foff ? len : f->size - foff);
	/* the same file again (two runs, or the walk's order): merge what touches */
	for (i = 0; i < res->nfiles; i++) {
		o = &res->files[i];
		if (o->path != f->path)
			continue;
		if (foff + len == o->offset || o->offset + o->length == foff ||
		    (foff >= o->offset && foff <= o->offset + o->length)) {
			uint64_t s = foff < o->offset ? foff : o->offset;
			uint64_t e = foff + len > o->offset + o->length ? foff + len :
				     o->offset + o->length;

			o->offset = s;
			o->length = e - s;
			return 0;
		}
	}
	if (res->nfiles == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 4;

		o = realloc(res->files, na * sizeof(*o));
		if (!o)
			return -ENOMEM;
		res->files = o;
		*alloc = na;
	}
	o = &res->files[res->nfiles++];
	o->path = f->path;
	o->inode = f->inode;
	o->offset = foff;
	o->length = len;
	return 0;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct vfiles_owner *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->offset < y->offset ? -1 : x->offset > y->offset);
}

/* an allocation flag from the filesystem for a block no range covers (-1 unknown) */
static int fs_block_flag(struct vfiles *v, size_t pi, uint64_t block, const char **meta)
{
#ifdef WITH_TSK
	TSK_FS_INFO *fs = v->fs ? v->fs[pi] : NULL;
	TSK_FS_BLOCK_FLAG_ENUM fl;

	if (!fs || block < fs->first_block || block > fs->last_block_act)
		return -1;
	fl = fs->block_getflags(fs, block);
	tsk_error_reset();
	if (fl & TSK_FS_BLOCK_FLAG_ALLOC) {
		if (fl & TSK_FS_BLOCK_FLAG_META)
			*meta = "filesystem metadata";
		return 1;
	}
	if (fl & TSK_FS_BLOCK_FLAG_UNALLOC)
		return 0;
#else
	(void)v;
	(void)pi;
	(void)block;
	(void)meta;
#endif
	return -1;
}

struct label_at {
	const char *label;
	uint64_t at;
};
#define MAX_LABELS 8

static int label_cmp(const void *a, const void *b)
{
	const struct label_at *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

int vfiles_lookup(struct vfiles *v, uint64_t off, uint64_t len, struct vfiles_result *res)
{
	struct label_at labs[MAX_LABELS];
	int saw_alloc = 0, saw_unalloc = 0, r;
	size_t i, j, nlab = 0, pi = PART_NONE, alloc = 0;
	uint64_t end;

	memset(res, 0, sizeof(*res));
	res->allocated = -1;
	if (off >= v->size || !len)
		return -ERANGE;
	end = len > v->size - off ? v->size : off + len;
	for (i = 0; i < v->nparts; i++) {
		uint64_t ps = v->parts[i].start_sector * 512, pe = ps + v->parts[i].sectors * 512;

		if (off >= ps && off < pe) {
			pi = i;
			res->part = &v->parts[i];
			if (res->part->block_size) {
				uint32_t bs = res->part->block_size;

				res->block = (off - ps) / bs;
				res->blocks = ((end < pe ? end : pe) - ps + bs - 1) / bs - res->block;
			}
			break;
		}
	}
	for (i = first_at_or_after(v, end); i-- > 0 && v->maxend[i] > off;) {
		const struct vfiles_range *g = &v->r[i];
		uint64_t s, e;

		if (g->end <= off)
			continue;
		if (g->label == VFILES_UNALLOC) {
			saw_unalloc = 1;
			continue;
		}
		saw_alloc = 1;
		if (g->label && nlab < MAX_LABELS) {
			for (j = 0; j < nlab && labs[j].label != g->label; j++)
				;
			if (j == nlab) {
				labs[nlab].label = g->label;
				labs[nlab++].at = g->start;
			} else if (g->start < labs[j].at) {
				labs[j].at = g->start;
			}
		}
		if (g->fidx < 0)
			continue;
		s = g->start > off ? g->start : off;
		e = g->end < end ? g->end : end;
		r = add_owner(res, &alloc, &v->f[g->fidx], g->foff + (s - g->start), e - s);
		if (r) {
			vfiles_result_free(res);
			return r;
		}
	}
	if (res->nfiles > 1)
		qsort(res->files, res->nfiles, sizeof(*res->files), owner_cmp);
	/* the labels in disk order, one string */
	if (nlab == 1) {
		res->meta = labs[0].label;
	} else if (nlab > 1) {
		size_t len = 0;

		qsort(labs, nlab, sizeof(*labs), label_cmp);
		for (j = 0; j < nlab; j++)
			len += strlen(labs[j].label) + 2;
		res->meta_buf = malloc(len);
		if (!res->meta_buf) {
			vfiles_result_free(res);
			return -ENOMEM;
		}
		res->meta_buf[0] = 0;
		for (j = 0; j < nlab; j++) {
			if (j)
				strcat(res->meta_buf, ", ");
			strcat(res->meta_buf, labs[j].label);
		}
		res->meta = res->meta_buf;
	}
	if (saw_alloc)
		res->allocated = 1;
	else if (saw_unalloc)
		res->allocated = 0;
	else if (pi != PART_NONE && !res->part->error && res->part->block_size)
		res->allocated = fs_block_flag(v, pi, res->block, &res->meta);
	if (res->part && res->part->error)
		res->allocated = -1;
	return 0;
}

int vfiles_from_ranges(const struct vfiles_range *r, size_t n, const struct vfiles_owner *files,
		       const uint64_t *file_sizes, size_t nfiles, struct vfiles **out)
{
	struct vfiles *v = calloc(1, sizeof(*v));
	size_t i;
	int e = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->table = "none";
	v->parts = calloc(1, sizeof(*v->parts));
	if (!v->parts)
		goto fail;
	v->nparts = 1;
	v->parts[0].type = strdup("none");
	v->parts[0].fs = "test";
	v->parts[0].block_size = 4096;
	for (i = 0; i < n; i++) {
		if (r[i].end > v->size)
			v->size = r[i].end;
		e = add_range(v, r[i].start, r[i].end, r[i].fidx, r[i].foff, r[i].label, 0);
		if (e)
			goto fail;
	}
	v->parts[0].sectors = (v->size + 511) / 512;
	for (i = 0; i < nfiles; i++) {
		e = add_file(v, strdup(files[i].path), files[i].inode, file_sizes[i]);
		if (e < 0)
			goto fail;
	}
	e = finish_map(v);
	if (e)
		goto fail;
	*out = v;
	return 0;
fail:
	vfiles_close(v);
	return e;
}

#ifndef WITH_TSK

int vfiles_available(void)
{
	return 0;
}

int vfiles_open(const char *path, struct vfiles **out, char **why)
{
	(void)path;
	*out = NULL;
	if (why)
		*why = NULL;
	return -EOPNOTSUPP;
}

#else /* WITH_TSK */

int vfiles_available(void)
{
	return 1;
}

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* one filesystem's walk */
struct walk {
	struct vfiles *v;
	TSK_FS_INFO *fs;
	uint32_t part;
	uint8_t *seen;			/* inodes done (hard links), NULL: no check */
	uint64_t nseen;
	uint64_t run_start, run_len;	/* the unallocated run being gathered */
	int err;
};

static uint64_t fs_byte(const struct walk *w, uint64_t block)
{
	return (uint64_t)w->fs->offset + block * w->fs->block_size;
}

/* blocks [b, b + n) of the filesystem carry label */
static int add_blocks(struct walk *w, uint64_t b, uint64_t n, const char *label)
{
	return add_range(w->v, fs_byte(w, b), fs_byte(w, b + n), -1, 0, label, w->part);
}

/* ext2/3/4: superblock copies, group descriptors, reserved GDT, bitmaps, inode tables */
static int ext_layout(struct walk *w)
{
	uint8_t sb[1024], *gd = NULL;
	uint32_t bs, bpg, ipg, isz, dsz, compat, incompat, ro, rsv_gdt, first, g, ngroups, gdt;
	uint64_t blocks;
	int r = 0;

	if (tsk_fs_read(w->fs, 1024, (char *)sb, sizeof(sb)) != sizeof(sb) || le16(sb + 56) != 0xEF53)
		return 0;	/* leave it to the block flags */
	bs = 1024U << le32(sb + 24);
	first = le32(sb + 20);
	bpg = le32(sb + 32);
	ipg = le32(sb + 40);
	isz = le32(sb + 76) ? le16(sb + 88) : 128;
	compat = le32(sb + 92);
	incompat = le32(sb + 96);
	ro = le32(sb + 100);
	rsv_gdt = le16(sb + 206);
	dsz = incompat & 0x80 ? le16(sb + 254) : 32;	/* INCOMPAT_64BIT */
	blocks = le32(sb + 4) | (incompat & 0x80 ? (uint64_t)le32(sb + 336) << 32 : 0);
	if (bs != w->fs->block_size || !bpg || !ipg || dsz < 32 || blocks <= first)
		return 0;
	ngroups = (blocks - first + bpg - 1) / bpg;
	gdt = ((uint64_t)ngroups * dsz + bs - 1) / bs;
	/* the boot block before a 1 KiB-block superblock */
	if (first)
		r = add_blocks(w, 0, 1, "boot block");
	gd = malloc((size_t)gdt * bs);
	if (!gd)
		return -ENOMEM;
	if (tsk_fs_read(w->fs, (uint64_t)(first + 1) * bs, (char *)gd, (size_t)gdt * bs) !=
	    (ssize_t)((size_t)gdt * bs))
		goto out;
	for (g = 0; g < ngroups && !r; g++) {
		const uint8_t *d = gd + (size_t)g * dsz;
		uint64_t start = first + (uint64_t)g * bpg, bb, ib, it;
		int has_sb = 0;

		if (!g)
			has_sb = 1;
		else if (compat & 0x200)	/* COMPAT_SPARSE_SUPER2 */
			has_sb = g == le32(sb + 588) || g == le32(sb + 592);
		else if (!(ro & 1))		/* no RO_COMPAT_SPARSE_SUPER: every group */
			has_sb = 1;
		else if (g == 1)
			has_sb = 1;
		else {
			uint32_t p, b;

			for (b = 3; b <= 7 && !has_sb; b += 2)
				for (p = b; p <= g && !has_sb; p *= b) {
					has_sb = p == g;
					if (p > UINT32_MAX / b)
						break;
				}
		}
		if (has_sb) {
			r = add_blocks(w, start, 1, "superblock");
			/* META_BG: descriptors are spread over the groups; only group 0's block here */
			if (!r && !(incompat & 0x10))
				r = add_blocks(w, start + 1, gdt, "group descriptors");
			else if (!r)
				r = add_blocks(w, start + 1, 1, "group descriptors");
			if (!r && rsv_gdt)
				r = add_blocks(w, start + 1 + (incompat & 0x10 ? 1 : gdt), rsv_gdt,
					       "reserved group descriptors");
		}
		bb = le32(d) | (dsz >= 64 ? (uint64_t)le32(d + 0x20) << 32 : 0);
		ib = le32(d + 4) | (dsz >= 64 ? (uint64_t)le32(d + 0x24) << 32 : 0);
		it = le32(d + 8) | (dsz >= 64 ? (uint64_t)le32(d + 0x28) << 32 : 0);
		if (!r && bb && bb < blocks)
			r = add_blocks(w, bb, 1, "block bitmap");
		if (!r && ib && ib < blocks)
			r = add_blocks(w, ib, 1, "inode bitmap");
		if (!r && it && it < blocks)
			r = add_blocks(w, it, ((uint64_t)ipg * isz + bs - 1) / bs, "inode table");
	}
out:
	free(gd);
	return r;
}

/* FAT12/16/32 and exFAT: boot sectors (reserved area) and FATs */
static int fat_layout(struct walk *w)
{
	uint8_t bs[512];
	uint64_t o = w->fs->offset;
	uint32_t bps, rsv, nfat, fatsz;

	if (tsk_fs_read(w->fs, 0, (char *)bs, sizeof(bs)) != sizeof(bs))
		return 0;
	if (!memcmp(bs + 3, "EXFAT   ", 8)) {
		if (bs[108] < 9 || bs[108] > 12)
			return 0;
		bps = 1U << bs[108];
		if (add_range(w->v, o, o + 24ULL * bps, -1, 0, "boot sector", w->part))
			return -ENOMEM;
		return add_range(w->v, o + (uint64_t)le32(bs + 80) * bps,
				 o + ((uint64_t)le32(bs + 80) + (uint64_t)le32(bs + 84) * (bs[110] ? bs[110] : 1)) * bps,
				 -1, 0, "FAT", w->part);
	}
	bps = le16(bs + 11);
	rsv = le16(bs + 14);
	nfat = bs[16];
	fatsz = le16(bs + 22) ? le16(bs + 22) : le32(bs + 36);
	if (bps < 512 || bps > 4096 || !rsv || !nfat)
		return 0;
	if (add_range(w->v, o, o + (uint64_t)rsv * bps, -1, 0, "boot sector", w->part))
		return -ENOMEM;
	return add_range(w->v, o + (uint64_t)rsv * bps, o + ((uint64_t)rsv + (uint64_t)nfat * fatsz) * bps,
			 -1, 0, "FAT", w->part);
}

/* NTFS: the label of a system file (MFT entries 0..15, $Extend's files) */
static const char *ntfs_label(uint64_t inum, const char *path)
{
	switch (inum) {
	case 0:
	case 1:
		return "MFT";
	case 2:
		return "journal";
	case 6:
		return "cluster bitmap";
	case 7:
		return "boot sector";
	}
	if (inum < 16)
		return "filesystem metadata";
	if (!strncmp(path, "/$Extend/", 9))
		return strstr(path, "$UsnJrnl") ? "journal" : "filesystem metadata";
	return NULL;
}

/* NTFS attribute types that are not a file's content (nor a directory index) */
static const char *attr_type_name(TSK_FS_ATTR_TYPE_ENUM t)
{
	switch (t) {
	case TSK_FS_ATTR_TYPE_NTFS_ATTRLIST: return "$ATTRIBUTE_LIST";
	case TSK_FS_ATTR_TYPE_NTFS_BITMAP: return "$BITMAP";
	case TSK_FS_ATTR_TYPE_NTFS_REPARSE: return "$REPARSE_POINT";
	case TSK_FS_ATTR_TYPE_NTFS_EA: return "$EA";
	case TSK_FS_ATTR_TYPE_NTFS_LOG: return "$LOGGED_UTILITY_STREAM";
	case TSK_FS_ATTR_TYPE_NTFS_SEC: return "$SECURITY_DESCRIPTOR";
	default: return NULL;
	}
}

/* every non-resident attribute of a file into the map; path NULL: the label only */
static int add_file_attrs(struct walk *w, TSK_FS_FILE *f, const char *path, const char *label)
{
	int isdir = f->meta && TSK_FS_IS_DIR_META(f->meta->type);
	int i, n = tsk_fs_file_attr_getsize(f);

	for (i = 0; i < n; i++) {
		const TSK_FS_ATTR *a = tsk_fs_file_attr_get_idx(f, i);
		const TSK_FS_ATTR_RUN *run;
		const char *lab = label;
		int64_t fidx = -1;
		int data = 0;

		if (!a || !(a->flags & TSK_FS_ATTR_NONRES))
			continue;
		switch (a->type) {
		case TSK_FS_ATTR_TYPE_DEFAULT:		/* also NTFS-less HFS default */
		case TSK_FS_ATTR_TYPE_NTFS_DATA:
		case TSK_FS_ATTR_TYPE_HFS_DATA:
			data = 1;
			if (isdir && !lab)
				lab = "directory";
			break;
		case TSK_FS_ATTR_TYPE_NTFS_IDXALLOC:
			data = 1;
			if (!lab)
				lab = "directory";
			break;
		case TSK_FS_ATTR_TYPE_UNIX_INDIR:
			lab = "indirect blocks";
			break;
		case TSK_FS_ATTR_TYPE_UNIX_EXTENT:
			lab = "extent tree";
			break;
		default:
			if (!lab)
				lab = isdir ? "directory" : "filesystem metadata";
			data = 1;
			break;
		}
		if (path && data) {
			const char *tn = attr_type_name(a->type);
			char *p;

			/* an NTFS named stream: path:name; another attribute type: path::$TYPE */
			if (a->type == TSK_FS_ATTR_TYPE_NTFS_DATA && a->name && *a->name &&
			    strcmp(a->name, "$Data")) {
				if (asprintf(&p, "%s:%s", path, a->name) < 0)
					p = NULL;
			} else if (tn) {
				if (asprintf(&p, "%s::%s", path, tn) < 0)
					p = NULL;
			} else {
				p = strdup(path);
			}
			fidx = add_file(w->v, p, f->meta->addr, a->size);
			if (fidx < 0)
				return -ENOMEM;
		}
		for (run = a->nrd.run; run; run = run->next) {
			if (!run->len || run->flags & (TSK_FS_ATTR_RUN_FLAG_FILLER |
						       TSK_FS_ATTR_RUN_FLAG_SPARSE))
				continue;
			if (add_range(w->v, fs_byte(w, run->addr), fs_byte(w, run->addr + run->len),
				      fidx, fidx >= 0 ? run->offset * w->fs->block_size : 0, lab, w->part))
				return -ENOMEM;
		}
	}
	return 0;
}

static TSK_WALK_RET_ENUM dir_cb(TSK_FS_FILE *f, const char *dir, void *arg)
{
	struct walk *w = arg;
	const char *label = NULL;
	char *path;
	int isdir;

	if (!f->name || !f->meta || TSK_FS_ISDOT(f->name->name) ||
	    f->meta->type == TSK_FS_META_TYPE_VIRT || f->meta->type == TSK_FS_META_TYPE_VIRT_DIR)
		return TSK_WALK_CONT;
	if (w->seen && f->meta->addr < w->nseen) {
		if (w->seen[f->meta->addr / 8] & (1 << (f->meta->addr % 8)))
			return TSK_WALK_CONT;	/* another name of a file done */
		w->seen[f->meta->addr / 8] |= 1 << (f->meta->addr % 8);
	}
	isdir = TSK_FS_IS_DIR_META(f->meta->type);
	if (asprintf(&path, "/%s%s%s", dir, f->name->name, isdir ? "/" : "") < 0) {
		w->err = -ENOMEM;
		return TSK_WALK_ERROR;
	}
	if (TSK_FS_TYPE_ISNTFS(w->fs->ftype))
		label = ntfs_label(f->meta->addr, path);
	w->err = add_file_attrs(w, f, path, label);
	free(path);
	return w->err ? TSK_WALK_ERROR : TSK_WALK_CONT;
}

static int flush_unalloc(struct walk *w)
{
	int r = 0;

	if (w->run_len)
		r = add_blocks(w, w->run_start, w->run_len, VFILES_UNALLOC);
	w->run_len = 0;
	return r;
}

static TSK_WALK_RET_ENUM unalloc_cb(const TSK_FS_BLOCK *b, void *arg)
{
	struct walk *w = arg;

	if (w->run_len && b->addr == w->run_start + w->run_len) {
		w->run_len++;
		return TSK_WALK_CONT;
	}
	w->err = flush_unalloc(w);
	w->run_start = b->addr;
	w->run_len = 1;
	return w->err ? TSK_WALK_ERROR : TSK_WALK_CONT;
}

/* the one walk of a filesystem */
static int walk_fs(struct vfiles *v, TSK_FS_INFO *fs, uint32_t part)
{
	struct walk w = { .v = v, .fs = fs, .part = part };
	TSK_FS_FILE *f;
	int r = 0;

	if (fs->last_inum < (1ULL << 31)) {
		w.nseen = fs->last_inum + 1;
		w.seen = calloc(w.nseen / 8 + 1, 1);
		if (!w.seen)
			return -ENOMEM;
	}
	if (TSK_FS_TYPE_ISEXT(fs->ftype))
		r = ext_layout(&w);
	else if (TSK_FS_TYPE_ISFAT(fs->ftype))
		r = fat_layout(&w);
	/* the ext journal (an inode no directory names) */
	if (!r && TSK_FS_TYPE_ISEXT(fs->ftype) && fs->journ_inum) {
		f = tsk_fs_file_open_meta(fs, NULL, fs->journ_inum);
		if (f) {
			r = add_file_attrs(&w, f, NULL, "journal");
			tsk_fs_file_close(f);
		}
	}
	/* the root directory itself; the walk gives what is in it */
	if (!r) {
		f = tsk_fs_file_open_meta(fs, NULL, fs->root_inum);
		if (f) {
			r = add_file_attrs(&w, f, "/", "directory");
			tsk_fs_file_close(f);
		}
		if (w.seen && fs->root_inum < w.nseen)
			w.seen[fs->root_inum / 8] |= 1 << (fs->root_inum % 8);
	}
	tsk_error_reset();
	if (!r && tsk_fs_dir_walk(fs, fs->root_inum, TSK_FS_DIR_WALK_FLAG_ALLOC |
				  TSK_FS_DIR_WALK_FLAG_RECURSE | TSK_FS_DIR_WALK_FLAG_NOORPHAN,
				  dir_cb, &w))
		r = w.err ? w.err : -EIO;
	tsk_error_reset();
	if (!r && tsk_fs_block_walk(fs, fs->first_block, fs->last_block_act,
				    TSK_FS_BLOCK_WALK_FLAG_UNALLOC | TSK_FS_BLOCK_WALK_FLAG_AONLY,
				    unalloc_cb, &w))
		r = w.err ? w.err : -EIO;
	if (!r)
		r = flush_unalloc(&w);
	tsk_error_reset();
	free(w.seen);
	return r;
}

/* what is at the start of a volume libtsk could not open: a name, or NULL */
static const char *detect_fs(TSK_IMG_INFO *img, uint64_t off, uint64_t len)
{
	static const size_t n = 0x10080;
	const char *name = NULL;
	uint8_t *b = calloc(1, n);
	size_t i;

	if (!b)
		return NULL;
	if (tsk_img_read(img, off, (char *)b, len < n ? len : n) <= 0) {
		free(b);
		return NULL;
	}
	if (!memcmp(b, "XFSB", 4))
		name = "xfs";
	else if (!memcmp(b + 0x10040, "_BHRfS_M", 8))
		name = "btrfs";
	else if (!memcmp(b + 512, "LABELONE", 8) && !memcmp(b + 512 + 24, "LVM2 001", 8))
		name = "LVM2 physical volume";
	else if (!memcmp(b, "LUKS\xba\xbe", 6))
		name = "LUKS";
	else if (!memcmp(b + 4086, "SWAPSPACE2", 10) || !memcmp(b + 4086, "SWAP-SPACE", 10))
		name = "swap";
	else if (!memcmp(b, "hsqs", 4))
		name = "squashfs";
	else if (le32(b + 1024) == 0xF2F52010)
		name = "f2fs";
	else if (le16(b + 1080) == 0xEF53)
		name = "ext";	/* a damaged ext superblock libtsk refused */
	if (!name) {
		for (i = 0; i < n && !b[i]; i++)
			;
		if (i == n)
			name = "none (zeroed)";
	}
	free(b);
	return name;
}

static int add_part(struct vfiles *v, int index, uint64_t start, uint64_t sectors, const char *type)
{
	struct vfiles_part *p = realloc(v->parts, (v->nparts + 1) * sizeof(*p));
	TSK_FS_INFO **fs;

	if (!p)
		return -ENOMEM;
	v->parts = p;
	fs = realloc(v->fs, (v->nparts + 1) * sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	v->fs = fs;
	fs[v->nparts] = NULL;
	p = &v->parts[v->nparts];
	memset(p, 0, sizeof(*p));
	p->index = index;
	p->start_sector = start;
	p->sectors = sectors;
	p->type = strdup(type ? type : "unknown");
	if (!p->type)
		return -ENOMEM;
	v->nparts++;
	return 0;
}

/* the filesystem of partition i (fs: opened, or NULL with libtsk's error) */
static int add_fs(struct vfiles *v, size_t i, TSK_FS_INFO *fs)
{
	struct vfiles_part *p = &v->parts[i];
	int r;

	if (!fs) {
		p->fs = detect_fs(v->img, p->start_sector * 512, p->sectors * 512);
		if (asprintf(&p->error, "libtsk %s cannot read %s%s: its clusters are not mapped to files",
			     tsk_version_get_str(), p->fs ? p->fs : "this filesystem (unknown type)",
			     p->fs && !strchr(p->fs, ' ') ? " filesystems" : "") < 0) {
			p->error = NULL;
			return -ENOMEM;
		}
		tsk_error_reset();
		return 0;
	}
	v->fs[i] = fs;
	p->fs = tsk_fs_type_toname(fs->ftype);
	p->block_size = fs->block_size;
	r = walk_fs(v, fs, i);
	if (r == -EIO) {
		/* a walk that stopped half-way: say so, keep what it found */
		if (asprintf(&p->error, "libtsk could not walk this %s filesystem (damaged?): %s",
			     p->fs, tsk_error_get() ? tsk_error_get() : "read error") < 0)
			p->error = NULL;
		tsk_error_reset();
		return 0;
	}
	return r;
}

/* GPT partition types by their GUID (as gdisk names them) */
static const struct {
	const char *guid, *name;
} gpt_types[] = {
	{ "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem" },
	{ "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data" },
	{ "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI system partition" },
	{ "21686148-6449-6E6F-744E-656564454649", "BIOS boot partition" },
	{ "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap" },
	{ "E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM" },
	{ "A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID" },
	{ "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux x86-64 root (/)" },
	{ "933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "Linux /home" },
	{ "E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved" },
	{ "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "Windows RE" },
};

/* the type of GPT entry slot (libtsk gives the entry's name only): a name or the GUID */
static void gpt_type(struct vfiles *v, unsigned int slot, char *out, size_t len)
{
	uint64_t ss = v->vs->block_size, lba;
	uint32_t n, esz;
	uint8_t h[92], e[16];
	size_t i;

	snprintf(out, len, "unknown");
	if (tsk_img_read(v->img, v->vs->offset + ss, (char *)h, sizeof(h)) != sizeof(h) ||
	    memcmp(h, "EFI PART", 8))
		return;
	lba = le32(h + 72) | (uint64_t)le32(h + 76) << 32;
	n = le32(h + 80);
	esz = le32(h + 84);
	if (slot >= n || esz < 128 ||
	    tsk_img_read(v->img, v->vs->offset + lba * ss + (uint64_t)slot * esz, (char *)e,
			 sizeof(e)) != sizeof(e))
		return;
	/* mixed endian: the first three fields little-endian */
	snprintf(out, len, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 e[3], e[2], e[1], e[0], e[5], e[4], e[7], e[6], e[8], e[9], e[10], e[11], e[12], e[13],
		 e[14], e[15]);
	for (i = 0; i < sizeof(gpt_types) / sizeof(gpt_types[0]); i++)
		if (!strcmp(out, gpt_types[i].guid)) {
			snprintf(out, len, "%s", gpt_types[i].name);
			return;
		}
}

static int open_parts(struct vfiles *v)
{
	TSK_VS_INFO *vs = v->vs;
	TSK_PNUM_T i;
	int logical = 5, r;

	for (i = 0; i < vs->part_count; i++) {
		const TSK_VS_PART_INFO *p = tsk_vs_part_get(vs, i);
		uint64_t bs = vs->block_size, s, e;
		char type[64];
		int index;

		if (!p)
			continue;
		s = vs->offset + p->start * bs;
		e = s + p->len * bs;
		if (!(p->flags & TSK_VS_PART_FLAG_ALLOC)) {
			/* table sectors, or space no partition holds */
			r = add_range(v, s, e, -1, 0, p->flags & TSK_VS_PART_FLAG_META ?
				      "partition table" : VFILES_UNALLOC, PART_NONE);
			if (r)
				return r;
			continue;
		}
		if (vs->vstype == TSK_VS_TYPE_DOS && p->table_num > 0)
			index = logical++;
		else
			index = p->slot_num + 1;
		if (vs->vstype == TSK_VS_TYPE_GPT)
			gpt_type(v, p->slot_num, type, sizeof(type));
		else
			snprintf(type, sizeof(type), "%s", p->desc ? p->desc : "unknown");
		r = add_part(v, index, s / 512, (e - s) / 512, type);
		if (!r)
			r = add_fs(v, v->nparts - 1, tsk_fs_open_vol(p, TSK_FS_TYPE_DETECT));
		if (r)
			return r;
	}
	return 0;
}

int vfiles_open(const char *path, struct vfiles **out, char **why)
{
	struct vfiles *v;
	struct timespec t0, t1;
	int fd, r;

	*out = NULL;
	if (why)
		*why = NULL;
	/* the errno of an open libtsk would only call "cannot open" */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tsk_error_reset();
	v->img = tsk_img_open_sing(path, TSK_IMG_TYPE_RAW, 0);
	if (!v->img) {
		if (why && tsk_error_get())
			*why = strdup(tsk_error_get());
		r = -EIO;
		goto fail;
	}
	v->size = v->img->size;
	v->vs = tsk_vs_open(v->img, 0, TSK_VS_TYPE_DETECT);
	tsk_error_reset();
	if (v->vs) {
		v->table = tsk_vs_type_toname(v->vs->vstype);
		r = open_parts(v);
	} else {
		v->table = "none";
		r = add_part(v, 0, 0, v->size / 512, "none");
		if (!r)
			r = add_fs(v, 0, tsk_fs_open_img(v->img, 0, TSK_FS_TYPE_DETECT));
	}
	if (!r)
		r = finish_map(v);
	if (r)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	v->build_ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
	vlog(VLOG_DEBUG, "files: %s: %zu partition(s), %zu files, %zu ranges in %.3f s", path,
	     v->nparts, v->nf, v->nr, v->build_ns / 1e9);
	*out = v;
	return 0;
fail:
	tsk_error_reset();
	vfiles_close(v);
	return r;
}

#endif /* WITH_TSK */
