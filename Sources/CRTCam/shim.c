// Thin shims for what Swift cannot call: variadic functions, macros, errno, sockaddr casts.
#define _GNU_SOURCE 1
#include "CRTCam.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>

int rtc_errno(void) { return errno; }
void rtc_set_errno(int value) { errno = value; }

int rtc_open(const char *path, int flags, int mode) { return open(path, flags | O_CLOEXEC, (mode_t)mode); }
int rtc_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int rtc_set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0) return -1;
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
int rtc_ioctl_ptr(int fd, unsigned long request, void *arg) {
  int r;
  do { r = ioctl(fd, request, arg); } while (r < 0 && errno == EINTR);
  return r;
}
void *rtc_mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset) {
  return mmap64(addr, length, prot, flags, fd, (off64_t)offset);
}

uint64_t rtc_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
// weak: tools/alloc/alloc_count.c (test builds only) links a strong one that counts per frame
__attribute__((weak)) void rtc_frame_mark(void) {}
uint64_t rtc_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
int rtc_random(void *buf, size_t len) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < len) {
    ssize_t n = read(fd, (char *)buf + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { close(fd); return -1; }
    off += (size_t)n;
  }
  close(fd);
  return 0;
}
int rtc_write_all(int fd, const void *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, (const char *)buf + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    off += (size_t)n;
  }
  return 0;
}
void rtc_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static volatile sig_atomic_t g_stop = 0;
static int g_stop_fd = -1;
static void on_stop(int sig) {
  (void)sig;
  int saved = errno;
  g_stop = 1;
  if (g_stop_fd >= 0) { char c = 1; ssize_t r = write(g_stop_fd, &c, 1); (void)r; }
  errno = saved;
}
int rtc_install_stop_handler(int fd) {
  g_stop_fd = fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
  if (sigaction(SIGTERM, &sa, NULL) != 0) return -1;
  return 0;
}
int rtc_stop_requested(void) { return g_stop; }

unsigned long rtc_VIDIOC_QUERYCAP(void) { return VIDIOC_QUERYCAP; }
unsigned long rtc_VIDIOC_ENUM_FMT(void) { return VIDIOC_ENUM_FMT; }
unsigned long rtc_VIDIOC_ENUM_FRAMESIZES(void) { return VIDIOC_ENUM_FRAMESIZES; }
unsigned long rtc_VIDIOC_ENUM_FRAMEINTERVALS(void) { return VIDIOC_ENUM_FRAMEINTERVALS; }
unsigned long rtc_VIDIOC_G_FMT(void) { return VIDIOC_G_FMT; }
unsigned long rtc_VIDIOC_S_FMT(void) { return VIDIOC_S_FMT; }
unsigned long rtc_VIDIOC_TRY_FMT(void) { return VIDIOC_TRY_FMT; }
unsigned long rtc_VIDIOC_G_PARM(void) { return VIDIOC_G_PARM; }
unsigned long rtc_VIDIOC_S_PARM(void) { return VIDIOC_S_PARM; }
unsigned long rtc_VIDIOC_REQBUFS(void) { return VIDIOC_REQBUFS; }
unsigned long rtc_VIDIOC_QUERYBUF(void) { return VIDIOC_QUERYBUF; }
unsigned long rtc_VIDIOC_QBUF(void) { return VIDIOC_QBUF; }
unsigned long rtc_VIDIOC_DQBUF(void) { return VIDIOC_DQBUF; }
unsigned long rtc_VIDIOC_STREAMON(void) { return VIDIOC_STREAMON; }
unsigned long rtc_VIDIOC_STREAMOFF(void) { return VIDIOC_STREAMOFF; }
unsigned long rtc_VIDIOC_S_CTRL(void) { return VIDIOC_S_CTRL; }
unsigned long rtc_VIDIOC_G_CTRL(void) { return VIDIOC_G_CTRL; }
unsigned long rtc_VIDIOC_QUERY_EXT_CTRL(void) { return VIDIOC_QUERY_EXT_CTRL; }
unsigned long rtc_VIDIOC_ENCODER_CMD(void) { return VIDIOC_ENCODER_CMD; }

int rtc_addr_parse(const char *host, uint16_t port, rtc_addr *out) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&out->storage;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->storage;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof *v6;
    return 0;
  }
  return -1;
}
int rtc_addr_format(const rtc_addr *addr, char *buf, size_t buflen) {
  const struct sockaddr *sa = (const struct sockaddr *)&addr->storage;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &v4->sin_addr, buf, (socklen_t)buflen);
    return ntohs(v4->sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, (socklen_t)buflen);
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, buf, (socklen_t)buflen);
    }
    return ntohs(v6->sin6_port);
  }
  if (buflen) buf[0] = 0;
  return 0;
}
int rtc_addr_family(const rtc_addr *addr) {
  const struct sockaddr *sa = (const struct sockaddr *)&addr->storage;
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return AF_INET;
  }
  return sa->sa_family;
}
int rtc_addr_bytes(const rtc_addr *addr, uint8_t *out) {
  const struct sockaddr *sa = (const struct sockaddr *)&addr->storage;
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) { memcpy(out, &v6->sin6_addr.s6_addr[12], 4); return 4; }
    memcpy(out, &v6->sin6_addr, 16);
    return 16;
  }
  return 0;
}
int rtc_addr_port(const rtc_addr *addr) {
  const struct sockaddr *sa = (const struct sockaddr *)&addr->storage;
  if (sa->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return 0;
}
int rtc_addr_equal(const rtc_addr *a, const rtc_addr *b) {
  if (a->len != b->len) return 0;
  const struct sockaddr *sa = (const struct sockaddr *)&a->storage;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const struct sockaddr_in *)&a->storage, *y = (const struct sockaddr_in *)&b->storage;
    return y->sin_family == AF_INET && x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->storage, *y = (const struct sockaddr_in6 *)&b->storage;
    return y->sin6_family == AF_INET6 && x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
  }
  return 0;
}

int rtc_bind_socket(const rtc_addr *addr, int type, int backlog) {
  int family = ((const struct sockaddr *)&addr->storage)->sa_family;
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, (const struct sockaddr *)&addr->storage, addr->len) != 0) { int e = errno; close(fd); return -e; }
  if (type == SOCK_STREAM && listen(fd, backlog) != 0) { int e = errno; close(fd); return -e; }
  return fd;
}
int rtc_accept(int fd, rtc_addr *peer) {
  peer->len = sizeof peer->storage;
  return accept4(fd, (struct sockaddr *)&peer->storage, &peer->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
ssize_t rtc_recvfrom(int fd, void *buf, size_t len, rtc_addr *from) {
  from->len = sizeof from->storage;
  return recvfrom(fd, buf, len, 0, (struct sockaddr *)&from->storage, &from->len);
}
ssize_t rtc_sendto(int fd, const void *buf, size_t len, const rtc_addr *to) {
  return sendto(fd, buf, len, 0, (const struct sockaddr *)&to->storage, to->len);
}
int rtc_local_port(int fd) {
  rtc_addr a;
  a.len = sizeof a.storage;
  if (getsockname(fd, (struct sockaddr *)&a.storage, &a.len) != 0) return -1;
  return rtc_addr_port(&a);
}

int rtc_unix_datagram(const char *path, const void *msg, size_t len) {
  struct sockaddr_un a;
  size_t n = strlen(path);
  if (n < 2 || n >= sizeof a.sun_path) return ENAMETOOLONG;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, path, n);
  if (path[0] == '@') a.sun_path[0] = 0;  // abstract namespace: not NUL-terminated
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ssize_t r = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&a, alen);
  int e = r < 0 ? errno : 0;
  close(fd);
  return e;
}

int rtc_list_interface_addrs(int include_loopback, rtc_ifaddr_cb cb, void *ctx) {
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0) return -1;
  for (struct ifaddrs *it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr || !(it->ifa_flags & IFF_UP)) continue;
    if (!include_loopback && (it->ifa_flags & IFF_LOOPBACK)) continue;
    int fam = it->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    rtc_addr a;
    memset(&a, 0, sizeof a);
    if (fam == AF_INET) { memcpy(&a.storage, it->ifa_addr, sizeof(struct sockaddr_in)); a.len = sizeof(struct sockaddr_in); }
    else {
      const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)it->ifa_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr)) continue;  // needs a scope id; browsers rarely use it
      memcpy(&a.storage, it->ifa_addr, sizeof(struct sockaddr_in6)); a.len = sizeof(struct sockaddr_in6);
    }
    cb(ctx, it->ifa_name, &a);
  }
  freeifaddrs(list);
  return 0;
}

struct rtc_thread_start_ctx { rtc_thread_fn fn; void *ctx; };
static void *rtc_thread_trampoline(void *p) {
  struct rtc_thread_start_ctx c = *(struct rtc_thread_start_ctx *)p;
  free(p);
  c.fn(c.ctx);
  return NULL;
}
int rtc_thread_start(pthread_t *thread, rtc_thread_fn fn, void *ctx) {
  struct rtc_thread_start_ctx *c = malloc(sizeof *c);
  if (!c) return ENOMEM;
  c->fn = fn;
  c->ctx = ctx;
  int r = pthread_create(thread, NULL, rtc_thread_trampoline, c);
  if (r != 0) free(c);
  return r;
}
int rtc_thread_lower_priority(int increment) {
  id_t tid = (id_t)syscall(SYS_gettid);
  errno = 0;
  int now = getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return errno;
  return setpriority(PRIO_PROCESS, tid, now + increment) == 0 ? 0 : errno;
}
