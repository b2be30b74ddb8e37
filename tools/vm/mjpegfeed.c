/*
 * mjpegfeed — MJPEG into (and out of) a v4l2loopback node, for the tools/vm-test guest.
 *
 *   mjpegfeed feed DEVICE FPS SECONDS FILE...
 *       Opens DEVICE as a V4L2 OUTPUT device, sets MJPG 640x480 (VIDIOC_S_FMT, sizeimage at
 *       least the largest file) and the frame rate 1/FPS (VIDIOC_S_PARM, a note if refused),
 *       then write()s one whole JPEG file per frame, cycling through FILE..., at a steady FPS
 *       (absolute CLOCK_MONOTONIC deadlines; after a stall it resynchronises instead of
 *       bursting) for SECONDS or until SIGTERM/SIGINT. Prints a start line and a summary line.
 *
 *   mjpegfeed capture DEVICE FRAMES SECONDS FILE...
 *       The independent check that the node delivers what the feeder writes: opens DEVICE as a
 *       capture device (it must announce V4L2_CAP_VIDEO_CAPTURE and streaming), requires the
 *       current format to be MJPG 640x480, streams with 4 mmap buffers and dequeues FRAMES
 *       frames within SECONDS; every frame's payload (bytesused) must be byte-identical to one
 *       of FILE... (or, at most once per buffer, start with one: v4l2loopback's REQBUFS quirk,
 *       see below). Prints one line: frames, matched, padded, distinct files seen, frames
 *       without a DHT segment, measured fps, sequence gaps.
 *
 * Exit code 0 ok, 1 failure (the line says why), 2 usage. Built static for the guest arch by
 * tools/vm-test, like v4l2ctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WIDTH 640
#define HEIGHT 480
#define MAX_FILES 256

struct file { unsigned char *data; size_t len; int has_dht; };
static struct file files[MAX_FILES];
static int nfiles;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR && !stop);
  return r;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static const char *fourcc(unsigned v, char buf[5]) {
  for (int i = 0; i < 4; i++) {
    unsigned char c = (v >> (8 * i)) & 0xff;
    buf[i] = c >= 32 && c < 127 ? (char)c : '?';
  }
  buf[4] = 0;
  return buf;
}

/* A DHT marker (FF C4) among the marker segments before the first SOS (FF DA). */
static int jpeg_has_dht(const unsigned char *d, size_t n) {
  size_t p = 2;
  if (n < 4 || d[0] != 0xff || d[1] != 0xd8) return 0;
  while (p + 4 <= n && d[p] == 0xff) {
    unsigned char m = d[p + 1];
    if (m == 0xc4) return 1;
    if (m == 0xda) return 0;
    p += 2 + ((size_t)d[p + 2] << 8 | d[p + 3]);
  }
  return 0;
}

static int load_files(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (nfiles == MAX_FILES) { fprintf(stderr, "mjpegfeed: more than %d files\n", MAX_FILES); return -1; }
    FILE *f = fopen(argv[i], "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || st.st_size < 4) {
      fprintf(stderr, "mjpegfeed: cannot read %s: %s\n", argv[i], strerror(errno));
      if (f) fclose(f);
      return -1;
    }
    struct file *x = &files[nfiles++];
    x->len = (size_t)st.st_size;
    x->data = malloc(x->len);
    if (!x->data || fread(x->data, 1, x->len, f) != x->len) {
      fprintf(stderr, "mjpegfeed: cannot read %s\n", argv[i]);
      fclose(f);
      return -1;
    }
    fclose(f);
    if (x->data[0] != 0xff || x->data[1] != 0xd8) {
      fprintf(stderr, "mjpegfeed: %s is not a JPEG file (no SOI)\n", argv[i]);
      return -1;
    }
    x->has_dht = jpeg_has_dht(x->data, x->len);
  }
  return 0;
}

static int feed(const char *dev, int fps, int seconds) {
  size_t largest = 0;
  char fc[5];
  for (int i = 0; i < nfiles; i++) if (files[i].len > largest) largest = files[i].len;
  int fd = open(dev, O_RDWR);
  if (fd < 0) { printf("mjpegfeed: FAIL open %s: %s\n", dev, strerror(errno)); return 1; }
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) { printf("mjpegfeed: FAIL QUERYCAP: %s\n", strerror(errno)); return 1; }
  unsigned caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_OUTPUT)) {
    printf("mjpegfeed: FAIL %s (%.32s) is no video output device (caps 0x%08x)\n", dev, (const char *)cap.card, caps);
    return 1;
  }
  struct v4l2_format f;
  memset(&f, 0, sizeof f);
  f.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
  f.fmt.pix.width = WIDTH;
  f.fmt.pix.height = HEIGHT;
  f.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
  f.fmt.pix.field = V4L2_FIELD_NONE;
  f.fmt.pix.sizeimage = (unsigned)((largest + 4095) & ~(size_t)4095);
  f.fmt.pix.colorspace = V4L2_COLORSPACE_JPEG;
  if (xioctl(fd, VIDIOC_S_FMT, &f) != 0) { printf("mjpegfeed: FAIL S_FMT MJPG %dx%d: %s\n", WIDTH, HEIGHT, strerror(errno)); return 1; }
  if (f.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG || f.fmt.pix.width != WIDTH || f.fmt.pix.height != HEIGHT) {
    printf("mjpegfeed: FAIL the driver set %s %ux%u instead of MJPG %dx%d\n", fourcc(f.fmt.pix.pixelformat, fc),
           f.fmt.pix.width, f.fmt.pix.height, WIDTH, HEIGHT);
    return 1;
  }
  if (f.fmt.pix.sizeimage < largest) {
    printf("mjpegfeed: FAIL sizeimage %u is smaller than the largest frame (%zu bytes)\n", f.fmt.pix.sizeimage, largest);
    return 1;
  }
  struct v4l2_streamparm parm;
  memset(&parm, 0, sizeof parm);
  parm.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
  parm.parm.output.timeperframe.numerator = 1;
  parm.parm.output.timeperframe.denominator = (unsigned)fps;
  const char *rate_note = "";
  if (xioctl(fd, VIDIOC_S_PARM, &parm) != 0) rate_note = " (S_PARM refused: the driver keeps its own rate)";
  /* v4l2loopback treats an opener as its writer only after STREAMON on the output queue; with
   * write() alone its close() does not make the node an output device again (exclusive_caps=1),
   * so the next feeder could not open it. write() I/O needs no buffers, only this. */
  int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
  if (xioctl(fd, VIDIOC_STREAMON, &type) != 0) { printf("mjpegfeed: FAIL STREAMON (output): %s\n", strerror(errno)); return 1; }
  printf("mjpegfeed: %s (%.32s) MJPG %ux%u sizeimage=%u, %d files (%zu bytes max), %d fps for %d s%s\n", dev,
         (const char *)cap.card, f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.sizeimage, nfiles, largest, fps, seconds,
         rate_note);
  fflush(stdout);

  long period_ns = 1000000000L / fps;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  double t0 = now_s();
  long written = 0, resyncs = 0;
  while (!stop && now_s() - t0 < seconds) {
    const struct file *x = &files[written % nfiles];
    ssize_t n = write(fd, x->data, x->len);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)x->len) {
      printf("mjpegfeed: FAIL write of frame %ld (%zu bytes) returned %zd: %s\n", written, x->len, n,
             n < 0 ? strerror(errno) : "short write");
      return 1;
    }
    written++;
    next.tv_nsec += period_ns;
    while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double late = (now.tv_sec - next.tv_sec) + (now.tv_nsec - next.tv_nsec) / 1e9;
    if (late > period_ns / 1e9) { next = now; resyncs++; continue; } /* a stall: no burst */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !stop) {}
  }
  double dt = now_s() - t0;
  printf("mjpegfeed: wrote %ld frames in %.1f s (%.2f fps, %ld resyncs after stalls)%s\n", written, dt,
         dt > 0 ? written / dt : 0.0, resyncs, stop ? ", stopped by a signal" : "");
  close(fd);
  return 0;
}

static int capture(const char *dev, int want, int seconds) {
  char fc[5];
  int fd = open(dev, O_RDWR | O_NONBLOCK);
  if (fd < 0) { printf("mjpegfeed-capture: FAIL open %s: %s\n", dev, strerror(errno)); return 1; }
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) { printf("mjpegfeed-capture: FAIL QUERYCAP: %s\n", strerror(errno)); return 1; }
  unsigned caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
    printf("mjpegfeed-capture: FAIL %s announces no streaming capture (caps 0x%08x)\n", dev, caps);
    return 1;
  }
  struct v4l2_format f;
  memset(&f, 0, sizeof f);
  f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_G_FMT, &f) != 0) { printf("mjpegfeed-capture: FAIL G_FMT: %s\n", strerror(errno)); return 1; }
  if (f.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG || f.fmt.pix.width != WIDTH || f.fmt.pix.height != HEIGHT) {
    printf("mjpegfeed-capture: FAIL capture format %s %ux%u, expected MJPG %dx%d\n", fourcc(f.fmt.pix.pixelformat, fc),
           f.fmt.pix.width, f.fmt.pix.height, WIDTH, HEIGHT);
    return 1;
  }
  struct v4l2_requestbuffers rb;
  memset(&rb, 0, sizeof rb);
  rb.count = 4;
  rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  rb.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_REQBUFS, &rb) != 0 || rb.count < 2) {
    printf("mjpegfeed-capture: FAIL REQBUFS (%u buffers): %s\n", rb.count, strerror(errno));
    return 1;
  }
  unsigned nbuf = rb.count > 8 ? 8 : rb.count;
  void *maps[8];
  size_t lens[8];
  for (unsigned i = 0; i < nbuf; i++) {
    struct v4l2_buffer b;
    memset(&b, 0, sizeof b);
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b.memory = V4L2_MEMORY_MMAP;
    b.index = i;
    if (xioctl(fd, VIDIOC_QUERYBUF, &b) != 0) { printf("mjpegfeed-capture: FAIL QUERYBUF: %s\n", strerror(errno)); return 1; }
    lens[i] = b.length;
    maps[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
    if (maps[i] == MAP_FAILED) { printf("mjpegfeed-capture: FAIL mmap: %s\n", strerror(errno)); return 1; }
    if (xioctl(fd, VIDIOC_QBUF, &b) != 0) { printf("mjpegfeed-capture: FAIL QBUF: %s\n", strerror(errno)); return 1; }
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_STREAMON, &type) != 0) { printf("mjpegfeed-capture: FAIL STREAMON: %s\n", strerror(errno)); return 1; }
  int got = 0, matched = 0, nodht = 0, gaps = 0, distinct = 0, padded = 0;
  unsigned char seen[MAX_FILES] = {0};
  long last_seq = -1;
  size_t bad_len = 0;
  double t0 = now_s(), first = 0, last = 0;
  while (got < want && !stop && now_s() - t0 < seconds) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, 500);
    if (r < 0 && errno != EINTR) { printf("mjpegfeed-capture: FAIL poll: %s\n", strerror(errno)); return 1; }
    if (r <= 0) continue;
    struct v4l2_buffer b;
    memset(&b, 0, sizeof b);
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd, VIDIOC_DQBUF, &b) != 0) {
      if (errno == EAGAIN) continue;
      printf("mjpegfeed-capture: FAIL DQBUF: %s\n", strerror(errno));
      return 1;
    }
    double t = now_s();
    if (got == 0) first = t;
    last = t;
    got++;
    if (last_seq >= 0 && (long)b.sequence > last_seq + 1) gaps += (int)((long)b.sequence - last_seq - 1);
    last_seq = b.sequence;
    /* A frame is one of the files byte for byte. v4l2loopback resets every buffer's bytesused
     * to sizeimage whenever a reader calls REQBUFS, so a buffer dequeued before the feeder
     * rewrote it holds a whole earlier file followed by stale bytes: counted as padded. */
    int which = -1, is_padded = 0;
    if (b.index < nbuf && b.bytesused <= lens[b.index]) {
      for (int i = 0; i < nfiles && which < 0; i++)
        if (files[i].len == b.bytesused && memcmp(files[i].data, maps[b.index], b.bytesused) == 0) which = i;
      for (int i = 0; i < nfiles && which < 0; i++)
        if (files[i].len < b.bytesused && memcmp(files[i].data, maps[b.index], files[i].len) == 0) {
          which = i;
          is_padded = 1;
        }
    }
    padded += is_padded;
    if (which >= 0) {
      matched++;
      if (!seen[which]) { seen[which] = 1; distinct++; }
      if (!files[which].has_dht) nodht++;
    } else if (!bad_len) {
      bad_len = b.bytesused ? b.bytesused : 1;
    }
    if (xioctl(fd, VIDIOC_QBUF, &b) != 0) { printf("mjpegfeed-capture: FAIL QBUF: %s\n", strerror(errno)); return 1; }
  }
  xioctl(fd, VIDIOC_STREAMOFF, &type);
  double fps = got > 1 && last > first ? (got - 1) / (last - first) : 0;
  int ok = got >= want && matched == got && nodht > 0 && padded <= (int)nbuf;
  printf("mjpegfeed-capture: %s %s MJPG %ux%u frames=%d matched=%d (padded %d) distinct=%d without_dht=%d "
         "fps=%.2f sequence_gaps=%d",
         ok ? "PASS" : "FAIL", dev, f.fmt.pix.width, f.fmt.pix.height, got, matched, padded, distinct, nodht, fps, gaps);
  if (padded > (int)nbuf) printf(" (more padded frames than buffers: the feeder's writes did not arrive)");
  if (got < want) printf(" (wanted %d within %d s)", want, seconds);
  if (bad_len) printf(" (a frame of %zu bytes matched no file)", bad_len);
  if (got > 0 && nodht == 0) printf(" (no frame without DHT came through)");
  printf("\n");
  close(fd);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 6 || (strcmp(argv[1], "feed") != 0 && strcmp(argv[1], "capture") != 0)) {
    fprintf(stderr, "usage: mjpegfeed feed DEVICE FPS SECONDS FILE...\n"
                    "       mjpegfeed capture DEVICE FRAMES SECONDS FILE...\n");
    return 2;
  }
  int n = atoi(argv[3]), seconds = atoi(argv[4]);
  if (n < 1 || n > 1000 || seconds < 1) { fprintf(stderr, "mjpegfeed: bad FPS/FRAMES or SECONDS\n"); return 2; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (load_files(argc - 5, argv + 5) != 0) return 1;
  return strcmp(argv[1], "feed") == 0 ? feed(argv[2], n, seconds) : capture(argv[2], n, seconds);
}
