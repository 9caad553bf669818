/* SPDX-License-Identifier: GPL-2.0 */
/* libvdirt: vdirt devices through libdevmapper (create, remove, look up, list) */
#ifndef VDIRTCTL_DM_H
#define VDIRTCTL_DM_H

#include <stddef.h>
#include <errno.h>
#include <stdint.h>

struct vdm_dev {
	char name[128];
	uint32_t major, minor;
	uint64_t start, len;	/* the vdirt target (first one) */
	char *table;		/* target params, malloc'd */
	char *status;		/* target INFO status, malloc'd */
	int suspended;
};

/*
 * Every vdm_* call returns -VDM_ENODM when the kernel has no device-mapper
 * (no driver behind /dev/mapper/control): "device-mapper is not available"
 * (vdm_strerror()), not libdevmapper's "Cannot allocate memory".
 */
#define VDM_ENODM ENOPKG
/* strerror(-r), or the sentence above for -VDM_ENODM */
const char *vdm_strerror(int r);

void vdm_init(void);
int vdm_create(const char *name, uint64_t len, const char *params);
int vdm_remove(const char *name);
/* fills d for a device whose (first) target is vdirt; -ENODEV if none, -EINVAL if not vdirt */
int vdm_get(const char *name, struct vdm_dev *d);
void vdm_put(struct vdm_dev *d);
/* dmsetup message name 0 msg; the target's answer into resp (len bytes) */
int vdm_message(const char *name, const char *msg, char *resp, size_t len);
/* the version of a loaded target type ("vdirt"): -ENOENT when not loaded */
int vdm_target_version(const char *target, uint32_t version[3]);
/* calls fn for every dm device with a vdirt target */
int vdm_list(int (*fn)(struct vdm_dev *d, void *arg), void *arg);

#endif
