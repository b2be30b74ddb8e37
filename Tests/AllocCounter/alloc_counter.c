// Test-only: the malloc family of the test binary, forwarding to glibc's implementation and
// counting calls made by a thread while it has counting switched on. Linked only into the test
// bundle, never into rtcam.
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include "AllocCounter.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread int counting;
static __thread long allocations;

#include <execinfo.h>
#include <stdlib.h>
#include <unistd.h>
static __thread int tracing;
static inline void note(void) {
  if (counting) {
    allocations++;
    if (!tracing && getenv("ALLOC_COUNTER_TRACE")) {
      tracing = 1;
      void *frames[24];
      int n = backtrace(frames, 24);
      backtrace_symbols_fd(frames, n, 2);
      write(2, "----\n", 5);
      tracing = 0;
    }
  }
}

void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t n) { note(); return __libc_memalign(alignment, n); }
void *aligned_alloc(size_t alignment, size_t n) { note(); return __libc_memalign(alignment, n); }
int posix_memalign(void **out, size_t alignment, size_t n) {
  note();
  void *p = __libc_memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

void alloc_counter_begin(void) {
  allocations = 0;
  counting = 1;
}

long alloc_counter_end(void) {
  counting = 0;
  return allocations;
}
