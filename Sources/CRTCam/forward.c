// Thin shims for --forward's connected UDP sockets (see rtc_forward.h).
#define _GNU_SOURCE 1
#include "CRTCam.h"

int rtc_udp_connect(const rtc_addr *to) {
  int family = ((const struct sockaddr *)&to->storage)->sa_family;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, (const struct sockaddr *)&to->storage, to->len) != 0) { int e = errno; close(fd); return -e; }
  return fd;
}

ssize_t rtc_send_nb(int fd, const void *buf, size_t len) {
  ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  return n < 0 ? -errno : n;
}

ssize_t rtc_recv_nb(int fd, void *buf, size_t len) {
  ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
  return n < 0 ? -errno : n;
}
