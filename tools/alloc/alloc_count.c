// tools/alloc/alloc_count.c — the counting allocator of tools/alloc-test. Never shipped: it is
// linked only into build/x86_64/alloc/rtcam-counting, with -Wl,--wrap=malloc,... so that every
// call of the malloc family from any object of the static binary (Swift modules, the C shims,
// libsrtp2, mbedTLS, OpenH264, libjpeg-turbo, libstdc++'s operator new, most of libc) comes here
// first and then goes on to glibc's allocator.
//
// Counting is per frame on all threads: the capture thread calls rtc_frame_mark() once per
// captured frame (a weak no-op in Sources/CRTCam/shim.c, replaced by the strong definition
// below), which closes the previous frame's count. Each frame becomes one line of the log named
// by ALLOC_COUNT_LOG:
//   F <frame number> <CLOCK_MONOTONIC ns at the mark> <allocations since the previous mark>
// and every allocation that frame made, up to ALLOC_DETAIL_PER_FRAME of them, one line each:
//   A <frame number> <thread id> <function> <bytes> <return addresses, innermost first>
// (tools/alloc-test symbolises the addresses with addr2line on the unstripped binary). The log is
// written with write(2) from fixed buffers: the shim itself never allocates.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
int __real_posix_memalign(void **, size_t, size_t);
void *__real_aligned_alloc(size_t, size_t);
void *__real_memalign(size_t, size_t);

// Details kept per frame: enough to see every distinct source of a regression at once; a frame
// with more only counts the rest.
#define ALLOC_DETAIL_PER_FRAME 256
// Return addresses kept per allocation: the malloc wrapper, the runtime's allocator entry
// (swift_slowAlloc, operator new...) and enough callers above them to name the Swift function.
#define ALLOC_DEPTH 16

struct detail {
  long tid;
  const char *fn;
  size_t bytes;
  int depth;
  uintptr_t pc[ALLOC_DEPTH];
};

static atomic_long frame_allocations;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static struct detail details[ALLOC_DETAIL_PER_FRAME];
static int detail_count;
static unsigned long frame_number;
static int log_fd = -2;  // -2: not opened yet; -1: no log
// Set while this thread is inside the shim (nothing in it allocates; a guard all the same).
static __thread int inside;
// Details only from the first frame mark on: start-up allocations are not per frame.
static atomic_int started;

// The Embedded Swift objects carry neither unwind tables nor frame pointers, so the callers are
// found by scanning the stack above the allocation: every word that points into the program's
// code right after a call instruction is taken for a return address. Some may be stale (left
// over from earlier calls); the innermost ones are reliable and name the allocating function.
extern const unsigned char __executable_start[], etext[];

static int after_call(uintptr_t ra) {
  const unsigned char *p = (const unsigned char *)ra;
  if (ra < (uintptr_t)__executable_start + 8 || ra >= (uintptr_t)etext) return 0;
  if (p[-5] == 0xe8) return 1;                                           // call rel32
  if (p[-2] == 0xff && (p[-1] & 0x38) == 0x10 && (p[-1] & 0xc0) == 0xc0) return 1;  // call *%reg
  if (p[-3] == 0xff && (p[-2] & 0x38) == 0x10) return 1;                 // call *disp8(%reg)
  if (p[-6] == 0xff && (p[-5] & 0x38) == 0x10) return 1;                 // call *disp32 / rip
  if (p[-7] == 0xff && (p[-6] & 0x38) == 0x10) return 1;                 // call *disp32(sib)
  return 0;
}

// Words of stack scanned: deep enough for the allocator's own frames and a few Swift frames.
#define ALLOC_SCAN_WORDS 384

static __attribute__((noinline)) void callers(struct detail *d) {
  uintptr_t *sp = (uintptr_t *)__builtin_frame_address(0);
  for (int i = 0; i < ALLOC_SCAN_WORDS && d->depth < ALLOC_DEPTH; i++) {
    // (d itself lies in the scanned frames: the addresses found so far are not found again)
    if ((const char *)&sp[i] >= (const char *)d && (const char *)&sp[i] < (const char *)(d + 1)) continue;
    if (after_call(sp[i])) d->pc[d->depth++] = sp[i];
  }
}

static void note(const char *fn, size_t bytes) {
  if (inside) return;
  inside = 1;
  long n = atomic_fetch_add(&frame_allocations, 1);
  if (n < ALLOC_DETAIL_PER_FRAME && atomic_load_explicit(&started, memory_order_relaxed)) {
    struct detail d = { .tid = syscall(SYS_gettid), .fn = fn, .bytes = bytes, .depth = 0 };
    callers(&d);
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {}
    if (detail_count < ALLOC_DETAIL_PER_FRAME) details[detail_count++] = d;
    atomic_flag_clear_explicit(&lock, memory_order_release);
  }
  inside = 0;
}

void *__wrap_malloc(size_t n) { note("malloc", n); return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { note("calloc", n * size); return __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { note("realloc", n); return __real_realloc(p, n); }
void __wrap_free(void *p) { __real_free(p); }
int __wrap_posix_memalign(void **out, size_t alignment, size_t n) {
  note("posix_memalign", n);
  return __real_posix_memalign(out, alignment, n);
}
void *__wrap_aligned_alloc(size_t alignment, size_t n) { note("aligned_alloc", n); return __real_aligned_alloc(alignment, n); }
void *__wrap_memalign(size_t alignment, size_t n) { note("memalign", n); return __real_memalign(alignment, n); }

// ---- the log ----

struct line { char buf[512]; size_t len; };

static void put(struct line *l, const char *s) {
  while (*s && l->len < sizeof l->buf - 1) l->buf[l->len++] = *s++;
}

static void put_uint(struct line *l, unsigned long long v, int base) {
  char tmp[24];
  int i = 0;
  do { tmp[i++] = "0123456789abcdef"[v % (unsigned)base]; v /= (unsigned)base; } while (v && i < (int)sizeof tmp);
  if (base == 16) put(l, "0x");
  while (i > 0 && l->len < sizeof l->buf - 1) l->buf[l->len++] = tmp[--i];
}

static void emit(struct line *l) {
  l->buf[l->len++] = '\n';
  size_t off = 0;
  while (off < l->len) {
    ssize_t w = write(log_fd, l->buf + off, l->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += (size_t)w;
  }
}

// Strong definition of CRTCam's weak hook: the capture thread has a new frame.
void rtc_frame_mark(void) {
  inside = 1;
  if (log_fd == -2) {
    const char *path = getenv("ALLOC_COUNT_LOG");
    log_fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  }
  atomic_store(&started, 1);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {}
  long n = atomic_exchange(&frame_allocations, 0);
  int kept = detail_count;
  static struct detail copy[ALLOC_DETAIL_PER_FRAME];
  memcpy(copy, details, sizeof(struct detail) * (size_t)kept);
  detail_count = 0;
  atomic_flag_clear_explicit(&lock, memory_order_release);
  unsigned long f = frame_number++;
  if (log_fd >= 0) {
    struct line l = { .len = 0 };
    put(&l, "F "); put_uint(&l, f, 10); put(&l, " ");
    put_uint(&l, (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec, 10);
    put(&l, " "); put_uint(&l, (unsigned long long)n, 10);
    emit(&l);
    for (int i = 0; i < kept; i++) {
      l.len = 0;
      put(&l, "A "); put_uint(&l, f, 10); put(&l, " "); put_uint(&l, (unsigned long long)copy[i].tid, 10);
      put(&l, " "); put(&l, copy[i].fn); put(&l, " "); put_uint(&l, copy[i].bytes, 10);
      for (int k = 0; k < copy[i].depth; k++) { put(&l, " "); put_uint(&l, copy[i].pc[k], 16); }
      emit(&l);
    }
  }
  inside = 0;
}
