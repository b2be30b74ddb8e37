// A correction to the Embedded Swift runtime, device build only (tools/build defines
// RTCAM_DEVICE_BUILD; the host build uses the full runtime, which is right).
//
// swift_bridgeObjectRetain retains the object a bridge object (a String's or an Array's storage
// word) points to and must return its argument unchanged: the compiler may go on using the
// returned value as the retained word. The Embedded runtime of Swift 6.3.1 (a weak definition in
// every module object) returns the word with its tag bits masked off instead (aarch64: AND
// 0x8fffffffffffffff, even for a small string, which has no object). Where the optimizer used
// that result, a small String's discriminator changed from 0xe7 to 0x87 in its top byte and the
// string read as one with shared UTF-8 storage at address 0: rtcam crashed at start on aarch64
// (chooseSource -> SourceSpec.parse -> _stringCompareInternal, seen under qemu-aarch64). This
// strong definition does the same retain through swift_bridgeObjectRetain_n and returns the
// argument, as the full runtime does. Upstream fixed it after 6.3.1 (swiftlang/swift#91151,
// "[Embedded] Don't corrupt the pointer returned from swift_bridgeObjectRetain_n"); this file
// can go once the toolchain has that. swift_bridgeObjectRetain_n keeps the fault for now: its
// result has not been seen used, and replacing it would mean copying the runtime's masks per
// architecture.
#ifdef RTCAM_DEVICE_BUILD
#include <stdint.h>

void *swift_bridgeObjectRetain_n(void *object, uint32_t n);

void *swift_bridgeObjectRetain(void *object) {
  (void)swift_bridgeObjectRetain_n(object, 1);
  return object;
}
#endif
