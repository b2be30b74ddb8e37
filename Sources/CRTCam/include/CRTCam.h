// CRTCam: the one C module rtcam's Swift code imports. It brings in the libc headers the
// server needs, the C libraries (mbedTLS, libsrtp2, OpenH264, libjpeg-turbo) and V4L2's
// kernel header, plus tiny shims for what Swift cannot call directly (variadic functions,
// function-like macros, errno). Keep the shims thin: logic belongs in Swift.
#ifndef CRTCAM_H
#define CRTCAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <dirent.h>

#include <linux/videodev2.h>

#include <mbedtls/version.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#include <mbedtls/pk.h>
#include <mbedtls/ecp.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/error.h>
#include <mbedtls/timing.h>

#include <srtp2/srtp.h>

#include <wels/codec_api.h>
#include <wels/codec_app_def.h>
#include <wels/codec_def.h>
#include <wels/codec_ver.h>

#include "rtc_jpeg.h"
#include "rtc_spawn.h"
#include "rtc_forward.h"

// ---- errno and variadic libc calls ----
int rtc_errno(void);
void rtc_set_errno(int value);
int rtc_open(const char *path, int flags, int mode);
int rtc_fcntl_int(int fd, int cmd, int arg);
int rtc_set_nonblocking(int fd);
int rtc_ioctl_ptr(int fd, unsigned long request, void *arg);
/// mmap with a 64-bit offset on every arch (armv7's off_t is 32 bits): V4L2 buffer offsets.
void *rtc_mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset);

// ---- small helpers over macros and struct layouts ----
/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC).
uint64_t rtc_monotonic_ns(void);
/// Called by the capture thread once per captured frame. A no-op (weak) in rtcam; the counting
/// allocator of tools/alloc-test replaces it to count heap allocations per frame.
void rtc_frame_mark(void);
/// Wall clock in nanoseconds since the Unix epoch (CLOCK_REALTIME).
uint64_t rtc_realtime_ns(void);
/// Fills `buf` with `len` bytes from the kernel's random source. Returns 0 or -1.
int rtc_random(void *buf, size_t len);
/// Writes all bytes to fd (retrying on EINTR/short writes). Returns 0 or -1.
int rtc_write_all(int fd, const void *buf, size_t len);
/// Ignores SIGPIPE so writes to closed sockets return EPIPE instead of killing us.
void rtc_ignore_sigpipe(void);
/// Installs handlers for SIGINT/SIGTERM that write one byte to `fd` (a pipe) and set a flag.
int rtc_install_stop_handler(int fd);
int rtc_stop_requested(void);

// ---- V4L2 ioctl request numbers (function-like macros in the kernel header) ----
unsigned long rtc_VIDIOC_QUERYCAP(void);
unsigned long rtc_VIDIOC_ENUM_FMT(void);
unsigned long rtc_VIDIOC_ENUM_FRAMESIZES(void);
unsigned long rtc_VIDIOC_ENUM_FRAMEINTERVALS(void);
unsigned long rtc_VIDIOC_G_FMT(void);
unsigned long rtc_VIDIOC_S_FMT(void);
unsigned long rtc_VIDIOC_TRY_FMT(void);
unsigned long rtc_VIDIOC_G_PARM(void);
unsigned long rtc_VIDIOC_S_PARM(void);
unsigned long rtc_VIDIOC_REQBUFS(void);
unsigned long rtc_VIDIOC_QUERYBUF(void);
unsigned long rtc_VIDIOC_QBUF(void);
unsigned long rtc_VIDIOC_DQBUF(void);
unsigned long rtc_VIDIOC_STREAMON(void);
unsigned long rtc_VIDIOC_STREAMOFF(void);
unsigned long rtc_VIDIOC_S_CTRL(void);
unsigned long rtc_VIDIOC_G_CTRL(void);
unsigned long rtc_VIDIOC_QUERY_EXT_CTRL(void);
unsigned long rtc_VIDIOC_ENCODER_CMD(void);

// ---- sockaddr helpers (unions and casts are awkward in Swift) ----
/// A socket address of either family, as stored by rtcam.
typedef struct rtc_addr {
  struct sockaddr_storage storage;
  socklen_t len;
} rtc_addr;
/// Parses a numeric IPv4/IPv6 address and port. Returns 0 or -1.
int rtc_addr_parse(const char *host, uint16_t port, rtc_addr *out);
/// Formats the address as "1.2.3.4" or "::1" into buf (>= 64 bytes). Returns port.
int rtc_addr_format(const rtc_addr *addr, char *buf, size_t buflen);
int rtc_addr_family(const rtc_addr *addr);
/// Copies the raw address bytes (4 or 16) into out; returns the count.
int rtc_addr_bytes(const rtc_addr *addr, uint8_t *out);
int rtc_addr_port(const rtc_addr *addr);
int rtc_addr_equal(const rtc_addr *a, const rtc_addr *b);

/// Opens a socket of `type` (SOCK_STREAM/SOCK_DGRAM) bound to addr, non-blocking, close-on-exec,
/// SO_REUSEADDR; IPv6 sockets accept IPv4 too when bound to "::". Listens if stream.
/// Returns the fd or -errno.
int rtc_bind_socket(const rtc_addr *addr, int type, int backlog);
int rtc_accept(int fd, rtc_addr *peer);
ssize_t rtc_recvfrom(int fd, void *buf, size_t len, rtc_addr *from);
ssize_t rtc_sendto(int fd, const void *buf, size_t len, const rtc_addr *to);
int rtc_local_port(int fd);

/// Sends one datagram to a unix socket (sd_notify): `path` absolute, or starting with '@' for the
/// abstract namespace. Returns 0 or an errno value.
int rtc_unix_datagram(const char *path, const void *msg, size_t len);

/// Calls back once per usable interface address (up, not loopback unless include_loopback).
typedef void (*rtc_ifaddr_cb)(void *ctx, const char *name, const rtc_addr *addr);
int rtc_list_interface_addrs(int include_loopback, rtc_ifaddr_cb cb, void *ctx);

// ---- threads ----
typedef void (*rtc_thread_fn)(void *ctx);
/// Starts a detached-or-joinable thread running fn(ctx). Returns 0 or an errno value.
int rtc_thread_start(pthread_t *thread, rtc_thread_fn fn, void *ctx);
/// Lowers the calling thread's scheduling priority by `increment` nice levels (Linux keeps a nice
/// value per thread; raising it needs no privilege). Returns 0 or an errno value.
int rtc_thread_lower_priority(int increment);

#endif
