/* fuzz_pattern.c - libFuzzer target for the checkpoint-name matcher:
 * PATTERN, a NUL or newline, NAME.
 * The logic is in fuzz_pattern_one.h, shared with the regression test
 * (tests/unit/test_fuzz_regress.c).  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_pattern_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_pattern_one(data, size) != 0)
		__builtin_trap();
	return 0;
}
