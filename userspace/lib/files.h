/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: cluster -> file.  Opens a disk (a dm-vdirt device, any block
 * device or a raw image) read-only through The Sleuth Kit (libtsk), walks
 * each filesystem once into a sorted map of device byte ranges -> owner
 * (a file: path, inode, offset in the file; or a metadata label; or
 * unallocated), then answers each cluster with a binary search.
 * Returns -errno and prints nothing; never writes.
 * Built without libtsk (WITH_TSK=no): vfiles_open() returns -EOPNOTSUPP.
 */
#ifndef VDIRTCTL_FILES_H
#define VDIRTCTL_FILES_H

#include <stddef.h>
#include <stdint.h>

/* 1 when libvdirt was built with libtsk */
int vfiles_available(void);

/* one partition (or the whole disk when it has no partition table) */
struct vfiles_part {
	int index;		/* partition number as Linux counts it (vda1: 1); 0: no table */
	uint64_t start_sector;	/* 512-byte sectors from the start of the disk */
	uint64_t sectors;
	char *type;		/* the table's type ("Linux filesystem", "Linux (0x83)"), "none" */
	const char *fs;		/* "ext4", "fat32", "ntfs", ...; detected name if unreadable; NULL: unknown */
	char *error;		/* NULL: libtsk read it; else why clusters in it are not mapped */
	uint32_t block_size;	/* filesystem block (ext, NTFS cluster, FAT sector); 0 unreadable */
};

/* a file owning bytes of a cluster */
struct vfiles_owner {
	const char *path;	/* "/etc/shadow"; a directory ends in "/"; an NTFS stream "/f:ads",
				 * another NTFS attribute "/f::$BITMAP" */
	uint64_t inode;		/* inode, MFT entry, or libtsk's FAT directory-entry address */
	uint64_t offset;	/* byte offset in the file of the first byte the cluster holds */
	uint64_t length;	/* bytes of the cluster inside the file (its size clips it) */
};

/* what one cluster holds */
struct vfiles_result {
	const struct vfiles_part *part;	/* holding the cluster's first byte; NULL: outside all */
	int allocated;		/* 1 yes, 0 no, -1 unknown (unreadable filesystem) */
	const char *meta;	/* NULL, or "superblock", "inode table", "FAT", "MFT", ...
				 * (several: ", "-separated in disk order) */
	char *meta_buf;		/* malloc'd meta when it joins several */
	uint64_t block;		/* first filesystem block of the cluster (valid when part->block_size) */
	uint64_t blocks;	/* number of blocks it overlaps */
	size_t nfiles;
	struct vfiles_owner *files;	/* malloc'd (strings belong to the map) */
};

struct vfiles;

/*
 * Open path read-only and build the map of every partition (MBR or GPT; a
 * disk without a table is one filesystem).  A partition libtsk cannot read
 * is kept with its error set.  0 or -errno (-EOPNOTSUPP without libtsk,
 * -ENOENT, -EACCES, -EIO, -ENOMEM); *why (may be NULL) gets libtsk's message
 * of a failure to open the disk, malloc'd.
 */
int vfiles_open(const char *path, struct vfiles **out, char **why);
void vfiles_close(struct vfiles *v);

/* the disk's size in bytes, its partition table ("gpt", "dos", "none") and partitions */
uint64_t vfiles_size(const struct vfiles *v);
const char *vfiles_table(const struct vfiles *v);
size_t vfiles_nparts(const struct vfiles *v);
const struct vfiles_part *vfiles_part(const struct vfiles *v, size_t i);
/* map entries (ranges) the walks made; build time in ns */
size_t vfiles_nranges(const struct vfiles *v);
uint64_t vfiles_build_ns(const struct vfiles *v);

/*
 * What the bytes [off, off + len) of the disk hold, into *res (free it with
 * vfiles_result_free()).  0, -ERANGE beyond the end of the disk, -ENOMEM.
 */
int vfiles_lookup(struct vfiles *v, uint64_t off, uint64_t len, struct vfiles_result *res);
void vfiles_result_free(struct vfiles_result *res);

/*
 * The map itself, for the unit tests: ranges [start, end) of the disk, each
 * a file's (fidx >= 0, its offset at start) and/or a label, or unallocated.
 */
struct vfiles_range {
	uint64_t start, end;
	int64_t fidx;		/* index into the file table, -1: none */
	uint64_t foff;		/* byte offset in the file at start */
	const char *label;	/* metadata label, VFILES_UNALLOC, or NULL (file data) */
	uint32_t part;		/* index into the partitions */
};
extern const char VFILES_UNALLOC[];
/* a map built from given ranges and files (tests); ranges and owners are copied */
int vfiles_from_ranges(const struct vfiles_range *r, size_t n, const struct vfiles_owner *files,
		       const uint64_t *file_sizes, size_t nfiles, struct vfiles **out);

#endif
