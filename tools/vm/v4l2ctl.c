/*
 * v4l2ctl — a tiny V4L2 control tool for the tools/vm-test guest (busybox has none).
 *
 *   v4l2ctl DEVICE list              every control: id, type, min, max, default, value, name
 *   v4l2ctl DEVICE get CONTROL       print the control's current value
 *   v4l2ctl DEVICE CONTROL VALUE     set it (a button is pressed whatever VALUE is)
 *
 * CONTROL is a number (0x00f0f041, 15790145) or the control's exact name as the driver reports
 * it ("Disconnect"); a name is looked up by enumerating the controls, so the id used is the one
 * the running driver has. Setting uses VIDIOC_S_EXT_CTRLS with the control's class (driver
 * private classes such as vivid's 0x00f00000 need it on some kernels) and falls back to
 * VIDIOC_S_CTRL. Prints one line saying what it did; exit code 0 ok, 1 failure, 2 usage.
 * Built static for the guest arch by tools/vm-test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR);
  return r;
}

/* Walks the controls in id order; calls fn for each (stops when fn returns non-zero). */
static int each_control(int fd, int (*fn)(const struct v4l2_queryctrl *, void *), void *ctx) {
  struct v4l2_queryctrl q;
  memset(&q, 0, sizeof q);
  q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
  while (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
    if (fn(&q, ctx)) return 1;
    q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
  }
  return 0;
}

static int get_value(int fd, unsigned id, int is64, long long *out) {
  struct v4l2_ext_control c;
  struct v4l2_ext_controls cs;
  memset(&c, 0, sizeof c);
  memset(&cs, 0, sizeof cs);
  c.id = id;
  cs.which = V4L2_CTRL_ID2WHICH(id);
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(fd, VIDIOC_G_EXT_CTRLS, &cs) == 0) { *out = is64 ? c.value64 : c.value; return 0; }
  struct v4l2_control old = {.id = id};
  if (xioctl(fd, VIDIOC_G_CTRL, &old) == 0) { *out = old.value; return 0; }
  return -1;
}

static int print_control(const struct v4l2_queryctrl *q, void *ctx) {
  int fd = *(int *)ctx;
  char value[32] = "-";
  long long v;
  if (q->type == V4L2_CTRL_TYPE_CTRL_CLASS) {
    printf("0x%08x class  %.32s\n", q->id, (const char *)q->name);
    return 0;
  }
  if (q->type != V4L2_CTRL_TYPE_BUTTON && !(q->flags & V4L2_CTRL_FLAG_WRITE_ONLY) && get_value(fd, q->id, q->type == V4L2_CTRL_TYPE_INTEGER64, &v) == 0)
    snprintf(value, sizeof value, "%lld", v);
  printf("0x%08x type=%u min=%d max=%d def=%d value=%s flags=0x%x  %.32s\n", q->id, q->type, q->minimum,
         q->maximum, q->default_value, value, q->flags, (const char *)q->name);
  return 0;
}

struct find { const char *name; unsigned id; char found_name[33]; };

static int match_name(const struct v4l2_queryctrl *q, void *ctx) {
  struct find *f = ctx;
  if (q->type == V4L2_CTRL_TYPE_CTRL_CLASS) return 0;
  if (strncmp((const char *)q->name, f->name, sizeof q->name) != 0) return 0;
  f->id = q->id;
  memcpy(f->found_name, q->name, sizeof q->name);
  f->found_name[32] = 0;
  return 1;
}

/* The control's id from a number or a name; its name in name_out (33 bytes). */
static int resolve(int fd, const char *arg, unsigned *id, char *name_out) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(arg, &end, 0);
  if (*arg >= '0' && *arg <= '9' && *end == 0 && errno == 0) {
    struct v4l2_queryctrl q;
    memset(&q, 0, sizeof q);
    q.id = (unsigned)n;
    *id = (unsigned)n;
    if (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
      memcpy(name_out, q.name, 32);
      name_out[32] = 0;
    } else {
      snprintf(name_out, 33, "%s", "not listed by VIDIOC_QUERYCTRL");
    }
    return 0;
  }
  struct find f = {.name = arg};
  if (!each_control(fd, match_name, &f)) return -1;
  *id = f.id;
  memcpy(name_out, f.found_name, 33);
  return 0;
}

static int set_value(int fd, unsigned id, long long value, const char **how) {
  struct v4l2_ext_control c;
  struct v4l2_ext_controls cs;
  memset(&c, 0, sizeof c);
  memset(&cs, 0, sizeof cs);
  c.id = id;
  c.value = (int)value;
  cs.which = V4L2_CTRL_ID2WHICH(id);
  cs.count = 1;
  cs.controls = &c;
  *how = "VIDIOC_S_EXT_CTRLS";
  if (xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs) == 0) return 0;
  int ext_errno = errno;
  struct v4l2_control old = {.id = id, .value = (int)value};
  *how = "VIDIOC_S_CTRL";
  if (xioctl(fd, VIDIOC_S_CTRL, &old) == 0) return 0;
  if (errno == EINVAL) errno = ext_errno;
  *how = "VIDIOC_S_EXT_CTRLS and VIDIOC_S_CTRL";
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[2], "list") != 0 && argc != 4)) {
    fprintf(stderr, "usage: v4l2ctl DEVICE list | v4l2ctl DEVICE get CONTROL | v4l2ctl DEVICE CONTROL VALUE\n");
    return 2;
  }
  const char *dev = argv[1];
  int fd = open(dev, O_RDWR | O_NONBLOCK);
  if (fd < 0) { fprintf(stderr, "v4l2ctl: open %s: %s\n", dev, strerror(errno)); return 1; }
  if (strcmp(argv[2], "list") == 0) {
    each_control(fd, print_control, &fd);
    close(fd);
    return 0;
  }
  int get = strcmp(argv[2], "get") == 0;
  const char *ctl = get ? argv[3] : argv[2];
  unsigned id;
  char name[33];
  if (resolve(fd, ctl, &id, name) != 0) {
    fprintf(stderr, "v4l2ctl: %s has no control named '%s' (v4l2ctl %s list)\n", dev, ctl, dev);
    return 1;
  }
  if (get) {
    long long v;
    if (get_value(fd, id, 0, &v) != 0) {
      fprintf(stderr, "v4l2ctl: get 0x%08x (%s) on %s: %s\n", id, name, dev, strerror(errno));
      return 1;
    }
    printf("0x%08x (%s) = %lld\n", id, name, v);
    return 0;
  }
  char *end;
  long long value = strtoll(argv[3], &end, 0);
  if (*argv[3] == 0 || *end != 0) { fprintf(stderr, "v4l2ctl: bad value '%s'\n", argv[3]); return 2; }
  const char *how;
  if (set_value(fd, id, value, &how) != 0) {
    fprintf(stderr, "v4l2ctl: set 0x%08x (%s) = %lld on %s: %s failed: %s\n", id, name, value, dev, how,
            strerror(errno));
    return 1;
  }
  printf("v4l2ctl: set 0x%08x (%s) = %lld on %s with %s\n", id, name, value, dev, how);
  close(fd);
  return 0;
}
