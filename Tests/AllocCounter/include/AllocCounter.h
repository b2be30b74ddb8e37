// Counts heap allocations made by the calling thread between begin and end, for tests that
// pin the allocation-free paths (the test binary's malloc family forwards to glibc's).
#pragma once

/// Starts counting this thread's allocations from zero.
void alloc_counter_begin(void);
/// (With ALLOC_COUNTER_TRACE set, every counted allocation also prints its backtrace to stderr.)
/// Stops counting and returns the number of malloc/calloc/realloc/memalign calls since begin.
long alloc_counter_end(void);
