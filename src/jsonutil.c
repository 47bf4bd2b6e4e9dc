/* jsonutil.c - numbers for JSON output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ckptd/jsonutil.h"

void num_format(double v, char *buf, size_t len)
{
	/* %.15g is exact for values typed by people; fall back to %.17g,
	 * which always round-trips */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

struct json_object *json_number(double v)
{
	char buf[40];
	if (!isfinite(v))
		return NULL; /* json-c writes a NULL object as null */
	num_format(v, buf, sizeof(buf));
	return json_object_new_double_s(v, buf);
}
