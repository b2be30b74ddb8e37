// libjpeg-turbo's memory back end: the functions its jmemsys.h declares (jmemnobs.c implements
// them with one malloc/free per pool). Defined here, the static device link takes these instead of
// libjpeg.a's jmemnobs.o, and the host build's libjpeg.so calls them through its exported symbols.
//
// Why: libjpeg's memory manager frees every pool of a picture at jpeg_finish_compress/
// jpeg_abort and asks for the same sizes again for the next picture, so each /stream.mjpg frame,
// each snapshot and each decoded MJPEG camera frame cost a dozen malloc/free pairs. Freed blocks
// are kept in a small cache instead and handed back for a request of exactly the same size, so in
// steady state (the same picture size over and over) JPEG coding allocates nothing.
//
// The cache is bounded in blocks and bytes (below): it holds what the encoder for stills, the
// decoder of an MJPEG camera and libv4lconvert's decoder need per picture; when full, the
// oldest blocks are freed to make room, and a block larger than any kept is freed at once. It is shared by all threads (one mutex: a few lookups per picture).
// Under AddressSanitizer (the fuzz build) nothing is cached, so every use after free is still seen.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTC_JMEM_NO_CACHE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RTC_JMEM_NO_CACHE 1
#endif

enum {
  /// Blocks kept at most: one picture needs about 10 to 20 pools (small pools plus one block per
  /// large array), and up to three coders (stills encoder, camera decoder, libv4lconvert) run.
  rtc_jmem_slots = 64,
  /// Largest block kept (a 1080p decode's biggest arrays are well below this).
  rtc_jmem_max_block = 8u << 20,
  /// Bytes kept at most in all: a Pi Zero's memory allows this and it covers 1080p coders.
  rtc_jmem_max_total = 32u << 20,
};

static struct { void *block; size_t size; } rtc_jmem_cache[rtc_jmem_slots];
static int rtc_jmem_count;
static size_t rtc_jmem_total;
static pthread_mutex_t rtc_jmem_lock = PTHREAD_MUTEX_INITIALIZER;

// Every block starts with its own size: the size libjpeg passes back when it frees a pool is its
// own bookkeeping (smaller than what it asked for, by its alignment slack), so it is not trusted.
// 16 bytes keep the rest of the block as aligned as malloc's.
typedef union { size_t size; max_align_t align; } rtc_jmem_header;

static void *rtc_jmem_get(size_t size) {
  void *found = NULL;
#ifndef RTC_JMEM_NO_CACHE
  pthread_mutex_lock(&rtc_jmem_lock);
  for (int i = rtc_jmem_count - 1; i >= 0; i--) {
    if (rtc_jmem_cache[i].size != size) continue;
    found = rtc_jmem_cache[i].block;
    rtc_jmem_total -= size;
    rtc_jmem_count--;
    memmove(&rtc_jmem_cache[i], &rtc_jmem_cache[i + 1], sizeof rtc_jmem_cache[0] * (size_t)(rtc_jmem_count - i));
    break;
  }
  pthread_mutex_unlock(&rtc_jmem_lock);
#endif
  if (!found) {
    if (size > SIZE_MAX - sizeof(rtc_jmem_header)) return NULL;
    found = malloc(sizeof(rtc_jmem_header) + size);
    if (!found) return NULL;
    ((rtc_jmem_header *)found)->size = size;
  }
  return (rtc_jmem_header *)found + 1;
}

static void rtc_jmem_put(void *object) {
  if (!object) return;
  rtc_jmem_header *block = (rtc_jmem_header *)object - 1;
#ifndef RTC_JMEM_NO_CACHE
  size_t size = block->size;
  if (size <= rtc_jmem_max_block) {
    // Full: the oldest blocks make room (sizes no longer in use leave; the sizes a coder asks
    // for picture after picture are always the newest).
    rtc_jmem_header *evicted[rtc_jmem_slots];
    int n_evicted = 0;
    pthread_mutex_lock(&rtc_jmem_lock);
    while (rtc_jmem_count > 0 && (rtc_jmem_count == rtc_jmem_slots || rtc_jmem_total + size > rtc_jmem_max_total)) {
      evicted[n_evicted++] = rtc_jmem_cache[0].block;
      rtc_jmem_total -= rtc_jmem_cache[0].size;
      rtc_jmem_count--;
      memmove(&rtc_jmem_cache[0], &rtc_jmem_cache[1], sizeof rtc_jmem_cache[0] * (size_t)rtc_jmem_count);
    }
    rtc_jmem_cache[rtc_jmem_count].block = block;
    rtc_jmem_cache[rtc_jmem_count].size = size;
    rtc_jmem_count++;
    rtc_jmem_total += size;
    pthread_mutex_unlock(&rtc_jmem_lock);
    for (int i = 0; i < n_evicted; i++) free(evicted[i]);
    return;
  }
#endif
  free(block);
}

// The jmemsys.h interface (that header is not installed; the backing-store type is only passed
// through as a pointer here).
void *jpeg_get_small(j_common_ptr cinfo, size_t sizeofobject);
void jpeg_free_small(j_common_ptr cinfo, void *object, size_t sizeofobject);
void *jpeg_get_large(j_common_ptr cinfo, size_t sizeofobject);
void jpeg_free_large(j_common_ptr cinfo, void *object, size_t sizeofobject);
size_t jpeg_mem_available(j_common_ptr cinfo, size_t min_bytes_needed, size_t max_bytes_needed,
                          size_t already_allocated);
void jpeg_open_backing_store(j_common_ptr cinfo, void *info, long total_bytes_needed);
long jpeg_mem_init(j_common_ptr cinfo);
void jpeg_mem_term(j_common_ptr cinfo);

void *jpeg_get_small(j_common_ptr cinfo, size_t sizeofobject) { (void)cinfo; return rtc_jmem_get(sizeofobject); }
void jpeg_free_small(j_common_ptr cinfo, void *object, size_t sizeofobject) { (void)cinfo; (void)sizeofobject; rtc_jmem_put(object); }
void *jpeg_get_large(j_common_ptr cinfo, size_t sizeofobject) { (void)cinfo; return rtc_jmem_get(sizeofobject); }
void jpeg_free_large(j_common_ptr cinfo, void *object, size_t sizeofobject) { (void)cinfo; (void)sizeofobject; rtc_jmem_put(object); }

/// Whatever is needed, unless a memory limit was set (JPEGMEM or max_memory_to_use): then what
/// is left of it. rtcam's pictures are small enough to be held whole; there is no backing store.
size_t jpeg_mem_available(j_common_ptr cinfo, size_t min_bytes_needed, size_t max_bytes_needed,
                          size_t already_allocated) {
  (void)min_bytes_needed;
  long limit = cinfo->mem->max_memory_to_use;
  if (limit <= 0) return max_bytes_needed;
  return (size_t)limit > already_allocated ? (size_t)limit - already_allocated : 0;
}

void jpeg_open_backing_store(j_common_ptr cinfo, void *info, long total_bytes_needed) {
  (void)info; (void)total_bytes_needed;
  ERREXIT(cinfo, JERR_NO_BACKING_STORE);
}

/// No default memory limit.
long jpeg_mem_init(j_common_ptr cinfo) { (void)cinfo; return 0; }
void jpeg_mem_term(j_common_ptr cinfo) { (void)cinfo; }
