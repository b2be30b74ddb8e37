// Connected UDP sockets for --forward (Runtime/Forwarding.swift).
#ifndef RTC_FORWARD_H
#define RTC_FORWARD_H
#include <stddef.h>
#include <sys/types.h>

struct rtc_addr;
/// A non-blocking, close-on-exec UDP socket of `to`'s family, connected to `to` (an ephemeral
/// local port): only `to` can send to it, and ICMP errors for it come back as ECONNREFUSED etc.
/// Returns the fd or -errno.
int rtc_udp_connect(const struct rtc_addr *to);
/// send(2) without blocking or SIGPIPE; returns the count or -errno.
ssize_t rtc_send_nb(int fd, const void *buf, size_t len);
/// recv(2) without blocking; returns the count or -errno (a pending ICMP error is one).
ssize_t rtc_recv_nb(int fd, void *buf, size_t len);
#endif
