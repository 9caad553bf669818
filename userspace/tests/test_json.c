// SPDX-License-Identifier: GPL-2.0
/* Unit tests of lib/json.c: json-c output, escaping, strings that are not UTF-8 */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "json.h"
#include "json_show.h"


int main(void)
{
	struct json_object *j, *p;
	char *s;
	int e;

	TAP_START();
	j = json_object_new_object();
	vjson_add_str(j, "path", "/dev/mapper/x");
	vjson_add_u64(j, "big", 18446744073709551615ULL);
	vjson_add_bool(j, "ok", 1);
	vjson_add_num_or_str(j, "n", "0042");
	vjson_add_num_or_str(j, "scan", "12/100");
	vjson_add_num_or_str(j, "huge", "99999999999999999999999");
	vjson_add_str(j, "none", NULL);
	s = json_show(j);
	OK(!strcmp(s, "{\"path\":\"/dev/mapper/x\",\"big\":18446744073709551615,\"ok\":true,"
		   "\"n\":42,\"scan\":\"12/100\",\"huge\":\"99999999999999999999999\","
		   "\"none\":null}"), "keys in order, / not escaped, u64, numbers or strings: %s", s);
	free(s);

	j = json_object_new_object();
	vjson_add_str(j, "s", "a\"b\\c\n\001");
	s = json_show(j);
	OK(!strcmp(s, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\"}"), "quotes, backslashes, controls escaped: %s", s);
	free(s);

	j = json_object_new_object();
	vjson_add_str(j, "s", "caf\xc3\xa9 \xe2\x82\xac");
	s = json_show(j);
	OK(!strcmp(s, "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac\"}"), "valid UTF-8 kept as it is");
	free(s);

	j = json_object_new_object();
	vjson_add_str(j, "s", "a\xff" "b\xc3");
	s = json_show(j);
	OK(!strcmp(s, "{\"s\":\"a\xc3\xbf" "b\xc3\x83\"}"), "stray bytes become U+00NN");
	p = vjson_parse(s, &e);
	OK(p && !strcmp(json_object_get_string(json_object_object_get(p, "s")),
			"a\xc3\xbf" "b\xc3\x83"), "... and parse back");
	json_object_put(p);
	free(s);

	j = json_object_new_object();
	vjson_add_str(j, "s", "\xc0\xaf\xed\xa0\x80");	/* overlong '/', a surrogate */
	s = json_show(j);
	OK(!strcmp(s, "{\"s\":\"\xc3\x80\xc2\xaf\xc3\xad\xc2\xa0\xc2\x80\"}"),
	   "overlong forms and surrogates are not UTF-8");
	free(s);

	OK(!vjson_parse("{\"a\":", &e) && e == -EINVAL, "a truncated text is -EINVAL");
	p = vjson_parse("[1,2]", &e);
	OK(p && json_object_array_length(p) == 2 && !e, "an array parses");
	json_object_put(p);
	TAP_DONE();
}
