/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test helper: a json object printed by lib/json.c into a string */
#ifndef VDIRT_TEST_JSON_SHOW_H
#define VDIRT_TEST_JSON_SHOW_H

#include <stdio.h>

#include "json.h"

/* obj as vjson_print() writes it; the caller frees the string */
static inline char *json_show(struct json_object *obj)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	vjson_print(f, obj, NULL);
	fclose(f);
	return s;
}

#endif
