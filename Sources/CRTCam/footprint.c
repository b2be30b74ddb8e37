// Small stand-ins that keep big, unused library paths out of the static device binary
// (tools/build compiles this with -DRTCAM_DEVICE_BUILD; the host build, tests and fuzzers use
// the real library functions). Each one behaves as the function it replaces does in rtcam;
// the bytes each saves on aarch64 are in docs/building.md, "Footprint". Because these objects come
// before libc.a and libstdc++.a on the link line, the archive members they replace are never
// pulled in.
#ifdef RTCAM_DEVICE_BUILD
#include <stdlib.h>
#include <stddef.h>
#include <time.h>

// libstdc++'s default terminate handler prints the demangled exception type (its demangler is
// ~45 KB) and then calls abort(). Nothing in rtcam catches C++ exceptions (only OpenH264 is
// C++, built without them), so terminate only ever means abort.
void rtc_verbose_terminate(void) __asm__("_ZN9__gnu_cxx27__verbose_terminate_handlerEv");
void rtc_verbose_terminate(void) { abort(); }

// operator new/delete: the library's new throws std::bad_alloc when malloc fails, which nobody
// catches (terminate, abort); this new aborts directly, so no exception machinery is needed.
static void *rtc_new(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}
#if __SIZEOF_SIZE_T__ == 8
#define RTC_NEW "_Znwm"
#define RTC_NEW_ARRAY "_Znam"
#define RTC_DELETE_SIZED "_ZdlPvm"
#define RTC_DELETE_ARRAY_SIZED "_ZdaPvm"
#else
#define RTC_NEW "_Znwj"
#define RTC_NEW_ARRAY "_Znaj"
#define RTC_DELETE_SIZED "_ZdlPvj"
#define RTC_DELETE_ARRAY_SIZED "_ZdaPvj"
#endif
void *rtc_op_new(size_t n) __asm__(RTC_NEW);
void *rtc_op_new(size_t n) { return rtc_new(n); }
void *rtc_op_new_array(size_t n) __asm__(RTC_NEW_ARRAY);
void *rtc_op_new_array(size_t n) { return rtc_new(n); }
void rtc_op_delete(void *p) __asm__("_ZdlPv");
void rtc_op_delete(void *p) { free(p); }
void rtc_op_delete_array(void *p) __asm__("_ZdaPv");
void rtc_op_delete_array(void *p) { free(p); }
void rtc_op_delete_sized(void *p, size_t n) __asm__(RTC_DELETE_SIZED);
void rtc_op_delete_sized(void *p, size_t n) { (void)n; free(p); }
void rtc_op_delete_array_sized(void *p, size_t n) __asm__(RTC_DELETE_ARRAY_SIZED);
void rtc_op_delete_array_sized(void *p, size_t n) { (void)n; free(p); }

// gettext: rtcam never calls setlocale(), so every message catalogue lookup runs in the "C"
// locale, where glibc's dcgettext returns the message id unchanged. Saying so directly keeps
// the catalogue loader (and its iconv use) out: ~23 KB.
char *rtc_dcgettext(const char *domain, const char *msgid, int category) {
  (void)domain; (void)category;
  return (char *)msgid;
}
char *dcgettext(const char *, const char *, int) __attribute__((alias("rtc_dcgettext")));
char *__dcgettext(const char *, const char *, int) __attribute__((alias("rtc_dcgettext")));

// glibc's __fxprintf is what its own diagnostics print with (assert, perror, psignal, malloc's
// checks): it turns the text into wide characters when the stream is wide-oriented, and that
// path pulls in all of the wide printf and wide stdio (vfwprintf and its parsers, wgenops,
// wfileops: ~25 KB on aarch64). rtcam never makes a stream wide-oriented (no fwide, no wide
// output), so these print as glibc's narrow path does, to stderr when `fp` is NULL.
#include <stdio.h>
#include <stdarg.h>
static int rtc_fxprintf(FILE *fp, const char *fmt, va_list ap) { return vfprintf(fp ? fp : stderr, fmt, ap); }
int __fxprintf(FILE *fp, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = rtc_fxprintf(fp, fmt, ap);
  va_end(ap);
  return r;
}
int __fxprintf_nocancel(FILE *fp, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = rtc_fxprintf(fp, fmt, ap);
  va_end(ap);
  return r;
}

// gmtime_r (the log's timestamps, mbedTLS's certificate validity check) is pure arithmetic
// for UTC, but glibc's reads the time zone (TZ, /etc/localtime, and sscanf for its rules) on
// the way: ~73 KB with sscanf. Days to civil date as in H. Hinnant's "chrono-Compatible
// Low-Level Date Algorithms" (proleptic Gregorian calendar, any year that fits int).
struct tm *gmtime_r(const time_t *t, struct tm *tm) {
  static const long long secsPerDay = 86400;
  long long s = (long long)*t, days = s / secsPerDay, rem = s % secsPerDay;
  if (rem < 0) { rem += secsPerDay; days--; }
  tm->tm_hour = (int)(rem / 3600);
  tm->tm_min = (int)(rem % 3600 / 60);
  tm->tm_sec = (int)(rem % 60);
  tm->tm_wday = (int)(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  long long z = days + 719468;                  // days since 0000-03-01
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);                               // [0, 146096]
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;     // [0, 399]
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                   // [0, 365], from March
  unsigned mp = (5 * doy + 2) / 153;                                        // [0, 11], March = 0
  unsigned mday = doy - (153 * mp + 2) / 5 + 1;
  unsigned month = mp < 10 ? mp + 3 : mp - 9;                               // [1, 12]
  long long year = (long long)yoe + era * 400 + (month <= 2);
  tm->tm_year = (int)(year - 1900);
  tm->tm_mon = (int)month - 1;
  tm->tm_mday = (int)mday;
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static const short daysBeforeMonth[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  tm->tm_yday = daysBeforeMonth[month - 1] + (int)mday - 1 + (leap && month > 2);
  tm->tm_isdst = 0;
  tm->tm_gmtoff = 0;
  tm->tm_zone = "GMT";
  return tm;
}
// The unwinder (libgcc_eh, ~19 KB): the unwind tables are discarded at link (tools/build), so
// the real one can only ever report that there is no frame to unwind into. These say so
// directly, as _URC_END_OF_STACK, which is what each caller already handles: a C++ throw
// (none in rtcam: OpenH264 is built with -fno-exceptions, only libstdc++'s own guard/new error
// paths could throw) then terminates (abort, above); glibc's pthread_exit/pthread_cancel
// (rtcam calls neither) abort after a forced unwind returns; backtrace() finds no frames.
// The functions that need a live unwind context are never reached without one: abort.
// (aarch64 and x86_64: the DWARF unwinder; armv7's ARM EHABI unwinder has other entry points.)
#if defined(__aarch64__) || defined(__x86_64__)
enum { RTC_URC_END_OF_STACK = 5 };
int _Unwind_RaiseException(void *e) { (void)e; return RTC_URC_END_OF_STACK; }
int _Unwind_Resume_or_Rethrow(void *e) { (void)e; return RTC_URC_END_OF_STACK; }
int _Unwind_ForcedUnwind(void *e, void *stop, void *arg) { (void)e; (void)stop; (void)arg; return RTC_URC_END_OF_STACK; }
int _Unwind_Backtrace(void *trace, void *arg) { (void)trace; (void)arg; return RTC_URC_END_OF_STACK; }
void _Unwind_DeleteException(void *e) { (void)e; }
void *_Unwind_FindEnclosingFunction(void *pc) { (void)pc; return NULL; }
static void rtc_no_unwind_context(void) { abort(); }
void _Unwind_Resume(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetCFA(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetGR(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_SetGR(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetIP(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetIPInfo(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_SetIP(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetLanguageSpecificData(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetRegionStart(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetDataRelBase(void) __attribute__((alias("rtc_no_unwind_context")));
void _Unwind_GetTextRelBase(void) __attribute__((alias("rtc_no_unwind_context")));
// the C personality routine (glibc's cleanup regions name it); only an unwinder calls it
void __gcc_personality_v0(void) __attribute__((alias("rtc_no_unwind_context")));
#endif
#endif
