/* fuzz_metrics.c - libFuzzer target for the zstd front of the metric
 * readers (metrics_new with zst) fed random bytes.
 * The logic is in fuzz_metrics_one.h, shared with the regression test
 * (tests/unit/test_fuzz_regress.c).  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_metrics_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_metrics_one(data, size) != 0)
		__builtin_trap();
	return 0;
}
