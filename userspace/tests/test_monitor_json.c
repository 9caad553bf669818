// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of monitor --json's object (vdirtctl/cmd_monitor.c): every event
 * names the metadata uuid, the mode and the data device as the journal entries
 * do (issue 18), and the byte offset of a record that names a cluster.
 */
#include <json-c/json.h>
#include <stdlib.h>

#include "tap.h"
#include "cmd.h"
#include "json.h"
#include "json_show.h"


/* the value of key in s, parsed back with json-c, as a string; "" if absent */
static const char *field(struct json_object **keep, const char *s, const char *key)
{
	struct json_object *v;

	*keep = json_tokener_parse(s);
	if (!*keep || !json_object_object_get_ex(*keep, key, &v))
		return "";
	return json_object_get_string(v);
}

static int has(const char *s, const char *key)
{
	struct json_object *j = json_tokener_parse(s), *v;
	int r = j && json_object_object_get_ex(j, key, &v);

	json_object_put(j);
	return r;
}

static void rec(struct vrec *r, int kind, uint64_t cluster)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "t32");
	r->major = 253;
	r->minor = 4;
	r->kind = kind;
	r->cluster = cluster;
	r->seq = 7;
	r->dlen = 32;
	r->time = 1764662400000000000ULL;
}

int main(void)
{
	struct vj_dev d = {
		.cluster_size = 4096, .hash = "sha256",
		.uuid = "0123456789abcdef0123456789abcdef", .mode = "enforce",
		.data_device = "/dev/vda", .data_devno = "254:0",
	};
	struct json_object *k = NULL;
	struct vrec r;
	char *s;

	TAP_START();
	rec(&r, VDIRT_KIND_READ_MISMATCH, 17);
	s = json_show(mon_rec_json(&r, &d, "event"));
	OK(!strcmp(field(&k, s, "uuid"), d.uuid), "a mismatch names the metadata uuid: %s", s);
	json_object_put(k);
	OK(!strcmp(field(&k, s, "mode"), "enforce"), "... the mode");
	json_object_put(k);
	OK(!strcmp(field(&k, s, "data_device"), "/dev/vda"), "... the data device");
	json_object_put(k);
	OK(!strcmp(field(&k, s, "data_devno"), "254:0"), "... its major:minor");
	json_object_put(k);
	OK(!strcmp(field(&k, s, "offset"), "69632"), "... the byte offset 17 * 4096");
	json_object_put(k);
	OK(!strcmp(field(&k, s, "sector"), "136"), "... and still the sector");
	json_object_put(k);
	OK(!strcmp(field(&k, s, "source"), "event"), "... and the source");
	json_object_put(k);
	free(s);

	d.cluster_size = 65536;
	rec(&r, VDIRT_KIND_ROLLBACK, 3);
	s = json_show(mon_rec_json(&r, &d, "dump"));
	OK(!strcmp(field(&k, s, "offset"), "196608"), "a rollback's offset with 64 KiB clusters: %s", s);
	json_object_put(k);
	free(s);

	rec(&r, VDIRT_KIND_WRITE_DRIFT, 1ULL << 40);
	s = json_show(mon_rec_json(&r, &d, "event"));
	OK(!strcmp(field(&k, s, "offset"), "72057594037927936"), "a drift at cluster 2^40: 2^56");
	json_object_put(k);
	free(s);

	rec(&r, VDIRT_KIND_EPOCH, 0);
	s = json_show(mon_rec_json(&r, &d, "event"));
	OK(!has(s, "offset"), "an epoch record has no offset: %s", s);
	OK(has(s, "uuid") && has(s, "mode") && has(s, "data_device"),
	   "... but the device's uuid, mode and data device");
	free(s);

	rec(&r, VDIRT_KIND_ACTIVATION, 0);
	d.uuid = "";
	d.data_device = NULL;
	d.data_devno = "";
	d.mode = "audit";
	s = json_show(mon_rec_json(&r, &d, "event"));
	OK(!has(s, "uuid") && !has(s, "data_device") && !has(s, "data_devno"),
	   "what the monitor does not know is left out: %s", s);
	OK(!strcmp(field(&k, s, "mode"), "audit"), "... the mode audit is there");
	json_object_put(k);
	free(s);
	TAP_DONE();
}
