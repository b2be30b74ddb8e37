/* tools/bench/benchtool.c: the bench's helpers in one small C program (built by tools/bench into
 * build/bench/benchtool with gcc -O2 -lopenh264 -lm).
 *
 *   benchtool gen pattern|camera OUT.y4m WIDTH HEIGHT FPS FRAMES
 *       writes a deterministic I420 clip (the same bytes on every run and machine):
 *       pattern: colour bars scrolling 4 px a frame, a bouncing ball, a dark box (rtcam's test
 *                pattern without its digits);
 *       camera:  a camera-like scene: textured background panning slowly, three coloured
 *                objects moving on periodic paths, vignetting, light flicker, and fresh sensor
 *                noise on every pixel of every frame (luma sigma ~2.5, chroma ~1.5).
 *   benchtool feed CLIP.y4m [FPS]
 *       loops CLIP to standard output as Y4M at FPS (default: the clip's), paced on absolute
 *       monotonic deadlines; every frame gets rtcam's time strip (TimestampStrip.swift: the
 *       64-bit word unixMs << 16 | frame, MSB first, then the complement bands) stamped with the
 *       wall-clock time at which it is written. Both servers read this same feed.
 *   benchtool encode-before CLIP.y4m OUT.h264 BITRATE FRAMES
 *       the reference for the presets' PSNR: encodes CLIP with the OpenH264 settings rtcam used
 *       before presets existed (rtcam 0.1.0's H264Encoder.swift: camera real-time, low
 *       complexity, OpenH264's defaults for background detection and adaptive quantisation,
 *       deblocking on, one reference, scene-change detection off, no frame skipping);
 *       paced at the clip's frame rate; prints {"frames","encode_ms_p50","encode_ms_p95"} (wall time
 *       around EncodeFrame, as rtcam probe measures).
 *   benchtool psnr CLIP.y4m STREAM.h264
 *       decodes the Annex-B stream with OpenH264's decoder and compares frame i with frame i of
 *       CLIP; prints one JSON line {"frames","psnr_y","psnr_yuv"} (mean of per-frame PSNR, YUV
 *       weighted 6:1:1).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wels/codec_api.h>

static int W, H, FPSN = 30, FPSD = 1;

static void die(const char *m) {
  fprintf(stderr, "benchtool: %s\n", m);
  exit(1);
}

/* xorshift64*: deterministic noise */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
/* approximately normal (Irwin-Hall, 4 terms), unit variance */
static double nrand(void) { return (urand() + urand() + urand() + urand() - 2.0) * 1.7320508; }
static uint8_t clip8(double v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5); }

static void rgb2yuv(double r, double g, double b, double *y, double *u, double *v) {
  *y = 16 + 0.257 * r + 0.504 * g + 0.098 * b;
  *u = 128 - 0.148 * r - 0.291 * g + 0.439 * b;
  *v = 128 + 0.439 * r - 0.368 * g - 0.071 * b;
}

static void put_header(FILE *f) { fprintf(f, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg\n", W, H, FPSN, FPSD); }

static void gen_pattern(uint8_t *y, uint8_t *u, uint8_t *v, int n) {
  static const double bars[8][3] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                                    {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0}};
  int cw = W / 2, top = 32, off = (n * 4) % W;
  for (int j = 0; j < H; j++)
    for (int i = 0; i < W; i++) {
      double Y, U, V;
      if (j < top) { Y = 128; U = V = 128; }
      else {
        const double *c = bars[(((i + off) % W) * 8) / W];
        rgb2yuv(c[0], c[1], c[2], &Y, &U, &V);
      }
      int r = H / 12, span = W - 2 * r, vspan = H - top - 2 * r;
      int bx = (n * 5) % (2 * span), by = (n * 3) % (2 * vspan);
      int cx = r + (bx < span ? bx : 2 * span - bx), cy = top + r + (by < vspan ? by : 2 * vspan - by);
      if ((i - cx) * (i - cx) + (j - cy) * (j - cy) <= r * r) rgb2yuv(200, 44, 196, &Y, &U, &V);
      if (i >= 10 && i < 190 && j >= H - 90 && j < H - 10) { Y = 16; U = V = 128; }
      y[j * W + i] = clip8(Y);
      if (!(i & 1) && !(j & 1)) { u[(j / 2) * cw + i / 2] = clip8(U); v[(j / 2) * cw + i / 2] = clip8(V); }
    }
}

static void gen_camera(uint8_t *y, uint8_t *u, uint8_t *v, int n, int frames) {
  int cw = W / 2;
  double ph = 2 * M_PI * n / frames; /* every motion is periodic over the clip: a seamless loop */
  double panx = 24 * sin(ph), pany = 8 * sin(2 * ph);
  double flicker = 1.0 + 0.02 * sin(ph * 7);
  struct { double ax, ay, fx, fy, r, cr, cg, cb; } obj[3] = {
      {0.30, 0.25, 1, 2, 0.11, 220, 60, 40}, {0.25, 0.30, 2, 1, 0.08, 40, 170, 60}, {0.35, 0.20, 3, 2, 0.06, 60, 80, 230}};
  static double *Yf, *Uf, *Vf;
  if (!Yf) { Yf = malloc(sizeof(double) * W * H); Uf = malloc(sizeof(double) * W * H); Vf = malloc(sizeof(double) * W * H); }
  for (int j = 0; j < H; j++)
    for (int i = 0; i < W; i++) {
      double x = i + panx, yy = j + pany;
      /* a wall with a warm gradient, wood-like stripes and a shelf of fine detail */
      double r = 150 + 50 * sin(x / 97.0) + 20 * sin(x / 7.3 + yy / 31.0);
      double g = 120 + 40 * sin(yy / 83.0 + 1) + 15 * sin(x / 5.1);
      double b = 90 + 30 * sin((x + yy) / 120.0) + 10 * sin(yy / 3.7);
      if (yy > H * 0.62 && yy < H * 0.70) { double t = (sin(x / 2.3) > 0) ? 60 : -40; r += t; g += t; b += t; }
      for (int k = 0; k < 3; k++) {
        double cx = W * (0.5 + obj[k].ax * sin(obj[k].fx * ph + k)), cy = H * (0.5 + obj[k].ay * sin(obj[k].fy * ph + 2 * k));
        double d = hypot(i - cx, j - cy) / (obj[k].r * H);
        if (d < 1) { double s = 1 - 0.3 * d * d; r = obj[k].cr * s; g = obj[k].cg * s; b = obj[k].cb * s; }
      }
      double dx = (i - W / 2.0) / W, dy = (j - H / 2.0) / H, vig = flicker * (1 - 0.9 * (dx * dx + dy * dy));
      double Y, U, V;
      rgb2yuv(r * vig, g * vig, b * vig, &Y, &U, &V);
      Yf[j * W + i] = Y; Uf[j * W + i] = U; Vf[j * W + i] = V;
    }
  for (int j = 0; j < H; j++)
    for (int i = 0; i < W; i++) y[j * W + i] = clip8(Yf[j * W + i] + 2.5 * nrand());
  for (int j = 0; j < H / 2; j++)
    for (int i = 0; i < cw; i++) {
      int o = 2 * j * W + 2 * i;
      u[j * cw + i] = clip8((Uf[o] + Uf[o + 1] + Uf[o + W] + Uf[o + W + 1]) / 4 + 1.5 * nrand());
      v[j * cw + i] = clip8((Vf[o] + Vf[o + 1] + Vf[o + W] + Vf[o + W + 1]) / 4 + 1.5 * nrand());
    }
}

/* reads the Y4M header of f into W, H, FPSN, FPSD */
static void read_header(FILE *f) {
  char line[512];
  if (!fgets(line, sizeof line, f) || strncmp(line, "YUV4MPEG2 ", 10)) die("not a Y4M file");
  for (char *t = strtok(line + 10, " \n"); t; t = strtok(NULL, " \n")) {
    if (t[0] == 'W') W = atoi(t + 1);
    if (t[0] == 'H') H = atoi(t + 1);
    if (t[0] == 'F') sscanf(t + 1, "%d:%d", &FPSN, &FPSD);
    if (t[0] == 'C' && strncmp(t + 1, "420", 3)) die("only 4:2:0 clips");
  }
  if (W <= 0 || H <= 0 || W > 4096 || H > 4096 || FPSN <= 0 || FPSD <= 0) die("bad Y4M header");
}

/* reads one frame (after its FRAME line) into buf; 0 at end of file */
static int read_frame(FILE *f, uint8_t *buf, size_t size) {
  char line[256];
  if (!fgets(line, sizeof line, f)) return 0;
  if (strncmp(line, "FRAME", 5)) die("bad FRAME line");
  return fread(buf, 1, size, f) == size;
}

static void stamp(uint8_t *y, uint8_t *u, uint8_t *v, uint64_t unix_ms, unsigned frame) {
  int bpr = 64;
  while (bpr >= 8 && W / bpr < 8) bpr /= 2;
  if (bpr < 8) return;
  int bw = W / bpr, bh = bpr == 64 ? 16 : 8, bands = 64 / bpr, cw = W / 2;
  memset(y, 128, (size_t)W * 2 * bands * bh);
  memset(u, 128, (size_t)cw * bands * bh);
  memset(v, 128, (size_t)cw * bands * bh);
  uint64_t word = ((unix_ms & 0xFFFFFFFFFFFFull) << 16) | (frame & 0xFFFF);
  for (int i = 0; i < 64; i++) {
    int bit = (word >> (63 - i)) & 1, x = (i % bpr) * bw, band = i / bpr;
    for (int k = 0; k < 2; k++) {
      int y0 = (band + k * bands) * bh, on = k ? !bit : bit;
      for (int row = y0; row < y0 + bh; row++) memset(y + (size_t)row * W + x, on ? 235 : 16, bw);
    }
  }
}

static uint64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static int feed(const char *path, int fps) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open the clip");
  read_header(f);
  if (fps > 0) { FPSN = fps; FPSD = 1; }
  long data = ftell(f);
  size_t size = (size_t)W * H * 3 / 2;
  uint8_t *buf = malloc(size);
  put_header(stdout);
  uint64_t period = 1000000000ull * FPSD / FPSN, due = now_ns(CLOCK_MONOTONIC);
  for (unsigned n = 0;; n++) {
    if (!read_frame(f, buf, size)) {
      fseek(f, data, SEEK_SET);
      if (!read_frame(f, buf, size)) die("empty clip");
    }
    struct timespec t = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    stamp(buf, buf + W * H, buf + W * H + W * H / 4, now_ns(CLOCK_REALTIME) / 1000000, n);
    if (fputs("FRAME\n", stdout) < 0 || fwrite(buf, 1, size, stdout) != size || fflush(stdout)) return 0;
    due += period;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now > due + 10 * period) due = now; /* the reader stalled: no burst to catch up */
  }
}

static double psnr(const uint8_t *a, int astride, const uint8_t *b, int bstride, int w, int h) {
  double se = 0;
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) { int d = a[j * astride + i] - b[j * bstride + i]; se += d * d; }
  double mse = se / ((double)w * h);
  return mse <= 0 ? 99.0 : 10 * log10(255.0 * 255.0 / mse);
}

static int psnr_cmd(const char *clip, const char *stream) {
  FILE *f = fopen(clip, "rb"), *s = fopen(stream, "rb");
  if (!f || !s) die("cannot open the clip or the stream");
  read_header(f);
  fseek(s, 0, SEEK_END);
  long len = ftell(s);
  fseek(s, 0, SEEK_SET);
  uint8_t *bs = malloc(len + 4);
  if (fread(bs, 1, len, s) != (size_t)len) die("short read");
  size_t size = (size_t)W * H * 3 / 2;
  uint8_t *ref = malloc(size);
  ISVCDecoder *dec = NULL;
  if (WelsCreateDecoder(&dec) || !dec) die("WelsCreateDecoder failed");
  SDecodingParam p;
  memset(&p, 0, sizeof p);
  p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
  p.eEcActiveIdc = ERROR_CON_DISABLE;
  if ((*dec)->Initialize(dec, &p)) die("decoder Initialize failed");
  int frames = 0;
  double sy = 0, syuv = 0;
  long i = 0;
  while (i < len) {
    /* one NAL unit: from this start code to the next */
    long j = i + 3;
    while (j + 3 <= len && !(bs[j] == 0 && bs[j + 1] == 0 && bs[j + 2] == 1)) j++;
    if (j + 3 > len) j = len;
    else if (bs[j - 1] == 0) j--; /* 4-byte start code */
    uint8_t *out[3] = {0};
    SBufferInfo info;
    memset(&info, 0, sizeof info);
    (*dec)->DecodeFrameNoDelay(dec, bs + i, (int)(j - i), out, &info);
    if (info.iBufferStatus == 1) {
      if (!read_frame(f, ref, size)) break;
      int dw = info.UsrData.sSystemBuffer.iWidth, dh = info.UsrData.sSystemBuffer.iHeight;
      if (dw != W || dh != H) die("decoded size differs from the clip");
      int ys = info.UsrData.sSystemBuffer.iStride[0], cs = info.UsrData.sSystemBuffer.iStride[1];
      double py = psnr(out[0], ys, ref, W, W, H);
      double pu = psnr(out[1], cs, ref + W * H, W / 2, W / 2, H / 2);
      double pv = psnr(out[2], cs, ref + W * H + W * H / 4, W / 2, W / 2, H / 2);
      sy += py;
      syuv += (6 * py + pu + pv) / 8;
      frames++;
    }
    i = j;
  }
  (*dec)->Uninitialize(dec);
  WelsDestroyDecoder(dec);
  if (!frames) die("no frame decoded");
  printf("{\"frames\": %d, \"psnr_y\": %.3f, \"psnr_yuv\": %.3f}\n", frames, sy / frames, syuv / frames);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int encode_before(const char *clip, const char *out, int bitrate, int frames) {
  FILE *f = fopen(clip, "rb"), *o = fopen(out, "wb");
  if (!f || !o) die("cannot open the clip or the output");
  read_header(f);
  if (frames < 1 || frames > 100000 || bitrate < 10000) die("bad encode-before arguments");
  size_t size = (size_t)W * H * 3 / 2;
  uint8_t *buf = malloc(size);
  double *ms = malloc(sizeof(double) * frames);
  ISVCEncoder *e = NULL;
  if (WelsCreateSVCEncoder(&e) || !e) die("WelsCreateSVCEncoder failed");
  SEncParamExt p;
  (*e)->GetDefaultParams(e, &p);
  double fps = (double)FPSN / FPSD;
  p.iUsageType = CAMERA_VIDEO_REAL_TIME;
  p.iPicWidth = W; p.iPicHeight = H;
  p.iTargetBitrate = bitrate; p.iMaxBitrate = bitrate + bitrate / 2;
  p.iRCMode = RC_BITRATE_MODE; p.fMaxFrameRate = (float)fps;
  p.iTemporalLayerNum = 1; p.iSpatialLayerNum = 1;
  p.iComplexityMode = LOW_COMPLEXITY; p.uiIntraPeriod = 0; p.iNumRefFrame = 1;
  p.eSpsPpsIdStrategy = CONSTANT_ID; p.bPrefixNalAddingCtrl = 0; p.bEnableSSEI = 0; p.bSimulcastAVC = 0;
  p.iPaddingFlag = 0; p.iEntropyCodingModeFlag = 0; p.bEnableFrameSkip = 0; p.iMultipleThreadIdc = 1;
  p.bUseLoadBalancing = 0; p.iLoopFilterDisableIdc = 0; p.bEnableDenoise = 0; p.bEnableFrameCroppingFlag = 1;
  p.bEnableLongTermReference = 0; p.bEnableSceneChangeDetect = 0;
  SSpatialLayerConfig *l = &p.sSpatialLayers[0];
  l->iVideoWidth = W; l->iVideoHeight = H; l->fFrameRate = (float)fps;
  l->iSpatialBitrate = bitrate; l->iMaxSpatialBitrate = bitrate + bitrate / 2;
  l->uiProfileIdc = PRO_BASELINE; l->uiLevelIdc = LEVEL_3_1;
  l->sSliceArgument.uiSliceMode = SM_SINGLE_SLICE; l->sSliceArgument.uiSliceNum = 1;
  int level = WELS_LOG_ERROR, fmt = videoFormatI420;
  (*e)->SetOption(e, ENCODER_OPTION_TRACE_LEVEL, &level);
  if ((*e)->InitializeExt(e, &p)) die("InitializeExt failed");
  (*e)->SetOption(e, ENCODER_OPTION_DATAFORMAT, &fmt);
  int n = 0;
  /* paced at the clip's rate like rtcam probe's y4m: source, so both time warm-up alike */
  uint64_t period = 1000000000ull * FPSD / FPSN, due = now_ns(CLOCK_MONOTONIC);
  for (; n < frames && read_frame(f, buf, size); n++) {
    struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    due += period;
    SSourcePicture pic;
    memset(&pic, 0, sizeof pic);
    pic.iColorFormat = videoFormatI420;
    pic.iStride[0] = W; pic.iStride[1] = pic.iStride[2] = W / 2;
    pic.pData[0] = buf; pic.pData[1] = buf + W * H; pic.pData[2] = buf + W * H + W * H / 4;
    pic.iPicWidth = W; pic.iPicHeight = H;
    pic.uiTimeStamp = (long long)(n * 1000.0 / fps);
    SFrameBSInfo info;
    memset(&info, 0, sizeof info);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    if ((*e)->EncodeFrame(e, &pic, &info)) die("EncodeFrame failed");
    ms[n] = (now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
    for (int k = 0; k < info.iLayerNum; k++) {
      SLayerBSInfo *L = &info.sLayerInfo[k];
      int bytes = 0;
      for (int m = 0; m < L->iNalCount; m++) bytes += L->pNalLengthInByte[m];
      fwrite(L->pBsBuf, 1, bytes, o);
    }
  }
  (*e)->Uninitialize(e);
  WelsDestroySVCEncoder(e);
  if (fclose(o) || !n) die("no frame encoded");
  qsort(ms, n, sizeof(double), cmp_double);
  printf("{\"frames\": %d, \"encode_ms_p50\": %.3f, \"encode_ms_p95\": %.3f}\n", n, ms[(50 * n + 99) / 100 - 1],
         ms[(95 * n + 99) / 100 - 1]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 8 && !strcmp(argv[1], "gen")) {
    W = atoi(argv[4]); H = atoi(argv[5]); FPSN = atoi(argv[6]);
    int frames = atoi(argv[7]), camera = !strcmp(argv[2], "camera");
    if (W < 64 || H < 64 || W % 2 || H % 2 || FPSN < 1 || frames < 1) die("bad gen arguments");
    FILE *f = fopen(argv[3], "wb");
    if (!f) die("cannot write the clip");
    size_t size = (size_t)W * H * 3 / 2;
    uint8_t *buf = malloc(size);
    put_header(f);
    for (int n = 0; n < frames; n++) {
      if (camera) gen_camera(buf, buf + W * H, buf + W * H + W * H / 4, n, frames);
      else gen_pattern(buf, buf + W * H, buf + W * H + W * H / 4, n);
      fputs("FRAME\n", f);
      fwrite(buf, 1, size, f);
    }
    return fclose(f) ? 1 : 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "feed")) return feed(argv[2], argc > 3 ? atoi(argv[3]) : 0);
  if (argc >= 4 && !strcmp(argv[1], "psnr")) return psnr_cmd(argv[2], argv[3]);
  if (argc >= 6 && !strcmp(argv[1], "encode-before")) return encode_before(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: benchtool gen pattern|camera OUT W H FPS FRAMES | feed CLIP [FPS] | psnr CLIP STREAM\n"
                  "       | encode-before CLIP OUT BITRATE FRAMES\n");
  return 2;
}
