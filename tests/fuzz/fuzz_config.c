/* fuzz_config.c - libFuzzer target for the config loader: config_parse
 * on the input as YAML text.
 * The logic is in fuzz_config_one.h, shared with the regression test
 * (tests/unit/test_fuzz_regress.c).  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_config_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_config_one(data, size) != 0)
		__builtin_trap();
	return 0;
}
