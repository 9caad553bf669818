// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: JSON output and parsing through json-c (the library cryptsetup
 * uses for LUKS2 metadata).  Objects keep their keys in insertion order;
 * they are printed plain, without escaping "/".  Prints only to the FILE
 * it is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* length of the valid UTF-8 sequence at p (1..4), 0 if it is not one */
static size_t utf8_len(const unsigned char *p)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

struct json_object *vjson_str(const char *s)
{
	const unsigned char *p;
	struct json_object *o;
	size_t len, n, i = 0;
	char *out;

	if (!s)
		return NULL;
	for (p = (const unsigned char *)s; *p; p += n) {
		n = utf8_len(p);
		if (!n)
			break;
	}
	if (!*p)
		return json_object_new_string(s);
	/* a stray byte 0xNN becomes U+00NN: two bytes of UTF-8 at most per byte */
	len = strlen(s);
	out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	for (p = (const unsigned char *)s; *p; p += n) {
		n = utf8_len(p);
		if (n) {
			memcpy(out + i, p, n);
			i += n;
		} else {
			n = 1;
			out[i++] = 0xc0 | *p >> 6;
			out[i++] = 0x80 | (*p & 0x3f);
		}
	}
	out[i] = 0;
	o = json_object_new_string(out);
	free(out);
	return o;
}

void vjson_add_str(struct json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, vjson_str(s));
}

void vjson_add_hex(struct json_object *obj, const char *key, const uint8_t *p, size_t n)
{
	char *h;

	if (!p) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	h = malloc(2 * n + 1);
	if (!h) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	hex(h, p, n);
	json_object_object_add(obj, key, json_object_new_string(h));
	free(h);
}

void vjson_add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	json_object_object_add(obj, key, json_object_new_uint64(v));
}

void vjson_add_bool(struct json_object *obj, const char *key, int v)
{
	json_object_object_add(obj, key, json_object_new_boolean(!!v));
}

void vjson_add_num_or_str(struct json_object *obj, const char *key, const char *v)
{
	unsigned long long n;
	const char *c;
	char *end;

	for (c = v; *c >= '0' && *c <= '9'; c++)
		;
	if (*v && !*c) {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!errno) {
			vjson_add_u64(obj, key, n);
			return;
		}
	}
	vjson_add_str(obj, key, v);
}

static const char *to_string(struct json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

int vjson_print(FILE *f, struct json_object *obj, const char *end)
{
	const char *s = obj ? to_string(obj) : NULL;
	int r = s ? 0 : -ENOMEM;

	if (s && fprintf(f, "%s%s", s, end ? end : "") < 0)
		r = -EIO;
	json_object_put(obj);
	return r;
}

void vjson_list_begin(struct vjson_list *l, FILE *f)
{
	l->f = f;
	l->n = 0;
	fputs("[\n", f);
}

int vjson_list_add(struct vjson_list *l, struct json_object *obj)
{
	if (l->n++)
		fputs(",\n", l->f);
	return vjson_print(l->f, obj, NULL);
}

void vjson_list_end(struct vjson_list *l)
{
	fprintf(l->f, "%s]\n", l->n ? "\n" : "");
}

struct json_object *vjson_parse(const char *text, int *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	*err = 0;
	if (!tok) {
		*err = -ENOMEM;
		return NULL;
	}
	o = json_tokener_parse_ex(tok, text, strlen(text) + 1);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
		*err = -EINVAL;
	}
	json_tokener_free(tok);
	return o;
}

/* ---- reading keys ---- */

static struct json_object *get_typed(struct json_object *obj, const char *key, json_type t)
{
	struct json_object *x;

	if (!obj || !json_object_object_get_ex(obj, key, &x) || !json_object_is_type(x, t))
		return NULL;
	return x;
}

int vjson_get_u64(struct json_object *obj, const char *key, uint64_t *v)
{
	struct json_object *x = get_typed(obj, key, json_type_int);

	if (!x || json_object_get_int64(x) < 0)
		return -EINVAL;
	*v = json_object_get_uint64(x);
	return 0;
}

int vjson_get_bool(struct json_object *obj, const char *key, int *v)
{
	struct json_object *x = get_typed(obj, key, json_type_boolean);

	if (!x)
		return -EINVAL;
	*v = json_object_get_boolean(x);
	return 0;
}

int vjson_get_str(struct json_object *obj, const char *key, char *out, size_t n)
{
	struct json_object *x = get_typed(obj, key, json_type_string);

	if (!x || (size_t)json_object_get_string_len(x) >= n)
		return -EINVAL;
	snprintf(out, n, "%s", json_object_get_string(x));
	return 0;
}

int vjson_get_hex(struct json_object *obj, const char *key, uint8_t *out, size_t n)
{
	struct json_object *x = get_typed(obj, key, json_type_string);

	if (!x || (size_t)json_object_get_string_len(x) != 2 * n ||
	    unhex(out, n, json_object_get_string(x)))
		return -EINVAL;
	return 0;
}
