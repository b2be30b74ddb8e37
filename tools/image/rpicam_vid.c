/*
 * rpicam_vid — a stand-in for `rpicam-vid` (raspberrypi/rpicam-apps), for tests without a Pi:
 * tools/image-test installs it as /usr/local/bin/rpicam-vid in the booted aarch64 image, and
 * tools/e2e/unit_syscalls_test.py runs it (built for the host) under strace as rtcam's program
 * source.
 *
 * 1. Arguments: exactly what rtcam's `--source rpicam` passes (Sources/Capture/CommandSplit.swift,
 *    rpicamCommand) with no --rpicam-args:
 *      -t 0 -n --width W --height H --framerate F --codec yuv420 -o -
 *    Anything else: a line on stderr naming what was wrong, exit 2.
 * 2. Start-up, doing what libcamera and rpicam-vid do at run time on a Pi, so that the system
 *    calls, socket families and device nodes they need meet the unit's filters
 *    (board/rtcam.service; the sources behind each step are cited there):
 *      camera   every /dev/videoN is opened and asked VIDIOC_QUERYCAP; the first whose driver is
 *               unicam or rp1-cfe is kept open (libcamera's pipeline handler matches the media
 *               device of these drivers and opens its video nodes); none: "no cameras
 *               available" and exit 1, as rpicam-vid does, unless RPICAM_STANDIN_NO_CAMERA=1
 *               (the host's strace check has no such node)
 *      udev     socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT) bound to udev's multicast group
 *               (libudev's monitor, libcamera's DeviceEnumeratorUdev), and the node's
 *               /run/udev/data/c<major>:<minor> read where it exists
 *      memfd    memfd_create(MFD_ALLOW_SEALING | MFD_CLOEXEC), ftruncate, F_ADD_SEALS
 *               (shrink, grow) and a shared mapping (libcamera's SharedMemObject / MemFd)
 *      dmaheap  /dev/dma_heap/linux,cma, else .../system, DMA_HEAP_IOCTL_ALLOC of one frame and
 *               its mapping (libcamera's DmaBufAllocator): the frames are written from it; no heap
 *               in the kernel: noted, and an ordinary buffer used
 *      config   libcamera's first configuration file, under $XDG_CONFIG_HOME or $HOME: absent or
 *               readable (EACCES there would make libcamera skip /etc/libcamera's)
 *      ipa      clone3 with CLONE_NEWUSER | CLONE_NEWNET, as libcamera starts an isolated IPA
 *               proxy for an unsigned module: reported (refused or allowed), not fatal
 *      threads  a thread woken through an eventfd and poll (libcamera's Thread and EventDispatcherPoll)
 *    Each step prints one line on stderr ("rpicam-vid stand-in: <step> ok ..."), then
 *    "rpicam-vid stand-in: started ..." with the steps' results. A refused step prints the call
 *    and errno and exits 3: a sandbox that blocks libcamera blocks this too.
 * 3. Frames: YUV420 at the given rate, laid out as rpicam-vid on a Pi 4 and earlier writes them
 *    (the VideoCore ISP's buffer, whole): luma rows padded to a multiple of 64 bytes, chroma rows
 *    half as long, each row's padding filled with 0xff so that a reader that ignored the stride
 *    would show slanted stripes. The picture is 75% colour bars (white, yellow, cyan, green,
 *    magenta, red, blue, black: BT.601 limited range, as vivid's), what tools/vm/browser_test.py
 *    --expect-colorbars checks. Until stopped (SIGTERM) or its reader goes (EPIPE).
 *
 * Built static for the guest by tools/image-test, for the host by unit_syscalls_test.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/netlink.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME "rpicam-vid stand-in"

static void die(int code, const char *what) {
  fprintf(stderr, NAME ": %s failed: %s (errno %d)\n", what, strerror(errno), errno);
  exit(code);
}

static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR);
  return r;
}

/* ---- 1. arguments */
static int parse_int(const char *s, int lo, int hi) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi) return -1;
  return (int)v;
}

static void usage_fail(int argc, char **argv, const char *why) {
  fprintf(stderr, NAME ": unexpected arguments (%s):", why);
  for (int i = 1; i < argc; i++) fprintf(stderr, " %s", argv[i]);
  fprintf(stderr, "\n" NAME ": want: -t 0 -n --width W --height H --framerate F --codec yuv420 -o -\n");
  exit(2);
}

/* ---- 2. start-up */
static char camera_note[160] = "none";

static void step_camera(void) {
  for (int i = 0; i < 64; i++) {
    char path[32];
    struct v4l2_capability cap;
    snprintf(path, sizeof path, "/dev/video%d", i);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    memset(&cap, 0, sizeof cap);
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 &&
        (!strcmp((char *)cap.driver, "unicam") || !strcmp((char *)cap.driver, "rp1-cfe"))) {
      /* kept open for the whole run, as libcamera keeps its camera's nodes */
      snprintf(camera_note, sizeof camera_note, "%s (driver %s)", path, (char *)cap.driver);
      fprintf(stderr, NAME ": camera ok, opened %s\n", camera_note);
      struct stat st;
      if (fstat(fd, &st) == 0) {
        char udev[64], buf[256];
        snprintf(udev, sizeof udev, "/run/udev/data/c%u:%u", major(st.st_rdev), minor(st.st_rdev));
        int u = open(udev, O_RDONLY | O_CLOEXEC);
        if (u >= 0) {
          ssize_t n = read(u, buf, sizeof buf);
          fprintf(stderr, NAME ": udev data ok, read %zd bytes of %s\n", n, udev);
          close(u);
        } else {
          fprintf(stderr, NAME ": udev data: no %s (%s)\n", udev, strerror(errno));
        }
      }
      return;
    }
    close(fd);
  }
  const char *allow = getenv("RPICAM_STANDIN_NO_CAMERA");
  if (allow && !strcmp(allow, "1")) {
    fprintf(stderr, NAME ": camera: none (RPICAM_STANDIN_NO_CAMERA=1)\n");
    return;
  }
  fprintf(stderr, "ERROR: *** no cameras available ***\n");
  exit(1);
}

static void step_udev(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (s < 0) die(3, "socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)");
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 2 /* udev's group, as libudev's monitor */ };
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) die(3, "bind(netlink uevent, group 2)");
  int on = 1;
  if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) die(3, "setsockopt(SO_PASSCRED)");
  fprintf(stderr, NAME ": udev ok, netlink uevent monitor bound\n");
  /* kept open, as libcamera's enumerator keeps its monitor */
}

static void step_memfd(void) {
  int fd = memfd_create("libcamera-standin", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0) die(3, "memfd_create");
  if (ftruncate(fd, 4096) < 0) die(3, "ftruncate(memfd)");
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) die(3, "fcntl(F_ADD_SEALS)");
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die(3, "mmap(memfd, MAP_SHARED)");
  memset(p, 0, 4096);
  munmap(p, 4096);
  close(fd);
  fprintf(stderr, NAME ": memfd ok, sealed and mapped\n");
}

static char heap_note[96] = "none";

/* A frame buffer from a DMA heap when the kernel has one, else from malloc. */
static uint8_t *step_dmaheap(size_t size) {
  /* rpicam-apps' order (core/dma_heaps.cpp), then libcamera's CMA fallback and the system heap
   * that a Pi 5's vidbuf_cached names */
  static const char *heaps[] = { "/dev/dma_heap/vidbuf_cached", "/dev/dma_heap/linux,cma",
                                 "/dev/dma_heap/reserved", "/dev/dma_heap/system" };
  for (unsigned i = 0; i < sizeof heaps / sizeof heaps[0]; i++) {
    int h = open(heaps[i], O_RDWR | O_CLOEXEC);
    if (h < 0) {
      if (errno == ENOENT) continue;
      die(3, heaps[i]);
    }
    struct dma_heap_allocation_data a = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
    if (xioctl(h, DMA_HEAP_IOCTL_ALLOC, &a) < 0) die(3, "DMA_HEAP_IOCTL_ALLOC");
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)a.fd, 0);
    if (p == MAP_FAILED) die(3, "mmap(dma-buf)");
    close(h);
    snprintf(heap_note, sizeof heap_note, "%s", heaps[i]);
    fprintf(stderr, NAME ": dmaheap ok, %zu bytes from %s\n", size, heaps[i]);
    return p;
  }
  fprintf(stderr, NAME ": dmaheap: this kernel has no heap; frames from an ordinary buffer\n");
  uint8_t *p = malloc(size);
  if (!p) die(3, "malloc");
  return p;
}

/* A signed IPA module runs inside the process (a thread). Only an unsigned one is isolated: its
 * proxy process is started with clone3(CLONE_PIDFD | CLONE_NEWUSER | CLONE_NEWNET) (libcamera's
 * Process::start), which RestrictNamespaces=yes refuses. Tried here in a child that exits at
 * once; the answer is reported, not fatal (Raspberry Pi OS ships its IPA modules signed). */
static char isolation_note[96] = "not tried";

static void step_ipa_isolation(void) {
  struct clone_args_v0 { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } ca;
  int pidfd = -1;
  memset(&ca, 0, sizeof ca);
  ca.flags = 0x00001000 /* CLONE_PIDFD */ | 0x10000000 /* CLONE_NEWUSER */ | 0x40000000 /* CLONE_NEWNET */;
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid == 0) _exit(0);
  if (pid < 0) {
    snprintf(isolation_note, sizeof isolation_note, "refused (%s, errno %d)", strerror(errno), errno);
  } else {
    waitpid((pid_t)pid, NULL, 0);
    if (pidfd >= 0) close(pidfd);
    snprintf(isolation_note, sizeof isolation_note, "allowed");
  }
  fprintf(stderr, NAME ": ipa isolation (clone3 with new user and network namespaces): %s\n", isolation_note);
}

/* libcamera's global configuration: $XDG_CONFIG_HOME, else $HOME/.config, then
 * libcamera/configuration.yaml there first, skipped when neither variable is set; an error other
 * than ENOENT there ends the search, so /etc/libcamera's file would be skipped
 * (global_configuration.cpp:184-205). ProtectHome=yes answers EACCES under /home. */
static void step_config(void) {
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  char path[256];
  if (xdg) snprintf(path, sizeof path, "%s/libcamera/configuration.yaml", xdg);
  else if (home) snprintf(path, sizeof path, "%s/.config/libcamera/configuration.yaml", home);
  else {
    fprintf(stderr, NAME ": config ok, neither XDG_CONFIG_HOME nor HOME set: no per-user file to read\n");
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) die(3, path);
  if (fd >= 0) close(fd);
  fprintf(stderr, NAME ": config ok, %s %s\n", path, fd >= 0 ? "read" : "absent");
}

static int wake_fd;
static void *thread_main(void *arg) {
  (void)arg;
  struct pollfd p = { .fd = wake_fd, .events = POLLIN };
  uint64_t v;
  if (poll(&p, 1, 10000) == 1 && read(wake_fd, &v, sizeof v) == sizeof v) return (void *)1;
  return NULL;
}

static void step_threads(void) {
  pthread_t t;
  void *r = NULL;
  wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) die(3, "eventfd");
  int e = pthread_create(&t, NULL, thread_main, NULL);
  if (e) { errno = e; die(3, "pthread_create"); }
  uint64_t one = 1;
  if (write(wake_fd, &one, sizeof one) != sizeof one) die(3, "write(eventfd)");
  pthread_join(t, &r);
  if (r != (void *)1) { errno = ETIMEDOUT; die(3, "the thread's eventfd wake-up"); }
  close(wake_fd);
  fprintf(stderr, NAME ": threads ok, woken through an eventfd\n");
}

/* ---- 3. frames */
static const uint8_t bars[8][3] = { /* Y, U, V of 75% bars, BT.601 limited range */
  { 180, 128, 128 }, { 162, 44, 142 }, { 131, 156, 44 }, { 112, 72, 58 },
  { 84, 184, 198 }, { 65, 100, 212 }, { 35, 212, 114 }, { 16, 128, 128 },
};

static void paint(uint8_t *buf, int w, int h, int stride) {
  int cs = stride / 2;
  uint8_t *y = buf, *u = buf + (size_t)stride * h, *v = u + (size_t)cs * (h / 2);
  memset(buf, 0xff, (size_t)stride * h + (size_t)cs * h);
  for (int r = 0; r < h; r++)
    for (int x = 0; x < w; x++) y[(size_t)r * stride + x] = bars[x * 8 / w][0];
  for (int r = 0; r < h / 2; r++)
    for (int x = 0; x < w / 2; x++) {
      u[(size_t)r * cs + x] = bars[x * 2 * 8 / w][1];
      v[(size_t)r * cs + x] = bars[x * 2 * 8 / w][2];
    }
}

int main(int argc, char **argv) {
  /* -t 0 -n --width W --height H --framerate F --codec yuv420 -o - */
  if (argc != 14) usage_fail(argc, argv, "13 arguments expected");
  if (strcmp(argv[1], "-t") || strcmp(argv[2], "0")) usage_fail(argc, argv, "-t 0 first");
  if (strcmp(argv[3], "-n")) usage_fail(argc, argv, "-n (no preview) second");
  if (strcmp(argv[4], "--width") || strcmp(argv[6], "--height") || strcmp(argv[8], "--framerate"))
    usage_fail(argc, argv, "--width W --height H --framerate F");
  int w = parse_int(argv[5], 16, 4096), h = parse_int(argv[7], 16, 4096), fps = parse_int(argv[9], 1, 120);
  if (w < 0 || h < 0 || fps < 0 || w % 2 || h % 2) usage_fail(argc, argv, "a size or rate out of range");
  if (strcmp(argv[10], "--codec") || strcmp(argv[11], "yuv420")) usage_fail(argc, argv, "--codec yuv420");
  if (strcmp(argv[12], "-o") || strcmp(argv[13], "-")) usage_fail(argc, argv, "-o - last");
  signal(SIGPIPE, SIG_IGN);

  int stride = (w + 63) / 64 * 64;
  size_t size = (size_t)stride * h + (size_t)(stride / 2) * h; /* luma + two half-size planes */
  step_camera();
  step_udev();
  step_memfd();
  uint8_t *frame = step_dmaheap(size);
  step_config();
  step_ipa_isolation();
  step_threads();
  fprintf(stderr, NAME ": started: %dx%d at %d fps, YUV420 with %d-byte luma rows (%zu bytes a frame); "
          "camera %s; DMA heap %s; IPA isolation %s\n", w, h, fps, stride, size, camera_note, heap_note, isolation_note);
  paint(frame, w, h, stride);

  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    size_t off = 0;
    while (off < size) {
      ssize_t n = write(1, frame + off, size - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EPIPE) return 0;
      if (n <= 0) die(1, "write(stdout)");
      off += (size_t)n;
    }
    next.tv_nsec += 1000000000L / fps;
    if (next.tv_nsec >= 1000000000L) { next.tv_sec++; next.tv_nsec -= 1000000000L; }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
  }
}
