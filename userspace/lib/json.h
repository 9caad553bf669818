/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: JSON through json-c.  Strings that are not valid UTF-8 have
 * each stray byte 0xNN turned into U+00NN, so the output is always JSON.
 */
#ifndef VDIRTCTL_JSON_H
#define VDIRTCTL_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

/* a JSON string of s (NULL: JSON null) */
struct json_object *vjson_str(const char *s);
/* add key: value to obj, a string / unsigned / boolean / a number or string */
void vjson_add_str(struct json_object *obj, const char *key, const char *s);
void vjson_add_u64(struct json_object *obj, const char *key, uint64_t v);
/* p's n bytes as lowercase hex; p NULL: null */
void vjson_add_hex(struct json_object *obj, const char *key, const uint8_t *p, size_t n);
void vjson_add_bool(struct json_object *obj, const char *key, int v);
/* a status value: a JSON number when it is decimal digits that fit, else a string */
void vjson_add_num_or_str(struct json_object *obj, const char *key, const char *v);

/* obj on one line (no spaces, "/" not escaped); 0 or -errno; obj is put */
int vjson_print(FILE *f, struct json_object *obj, const char *end);

/*
 * An array printed element by element as "[\n" elem (",\n" elem)... "\n]\n",
 * for lists too long to hold (report, hashes): n counts the elements.
 */
struct vjson_list {
	FILE *f;
	uint64_t n;
};
void vjson_list_begin(struct vjson_list *l, FILE *f);
int vjson_list_add(struct vjson_list *l, struct json_object *obj);
void vjson_list_end(struct vjson_list *l);

/* parse a whole JSON text; NULL with -errno in *err (-EINVAL: not JSON) */
struct json_object *vjson_parse(const char *text, int *err);

/*
 * Reading an object's keys: 0, or -EINVAL when key is missing or of
 * another JSON type; get_hex: a string of exactly 2n hex digits into out.
 */
int vjson_get_u64(struct json_object *obj, const char *key, uint64_t *v);
int vjson_get_bool(struct json_object *obj, const char *key, int *v);
int vjson_get_str(struct json_object *obj, const char *key, char *out, size_t n);
int vjson_get_hex(struct json_object *obj, const char *key, uint8_t *out, size_t n);

#endif
