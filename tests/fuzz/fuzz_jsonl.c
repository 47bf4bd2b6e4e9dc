/* fuzz_jsonl.c - libFuzzer target for the JSON-lines reader, fed in
 * pieces the input chooses and checked against a one-piece reading.
 * The logic is in fuzz_jsonl_one.h, shared with the regression test
 * (tests/unit/test_fuzz_regress.c).  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_jsonl_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_jsonl_one(data, size) != 0)
		__builtin_trap();
	return 0;
}
