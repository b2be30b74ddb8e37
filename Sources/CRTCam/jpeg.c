// JPEG decode and encode through libjpeg-turbo's raw-data API (see rtc_jpeg.h). Only the
// libjpeg calls and the setjmp/longjmp that catches libjpeg's fatal errors live here.
#include "rtc_jpeg.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct rtc_jpeg_err {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  /// Set by a warning that means the picture is patched (premature end, corrupt data).
  int damaged;
  /// Where the message of the last warning or error goes (>= JMSG_LENGTH_MAX bytes).
  char *message;
};

static void rtc_jpeg_error_exit(j_common_ptr c) {
  struct rtc_jpeg_err *e = (struct rtc_jpeg_err *)c->err;
  if (e->message) c->err->format_message(c, e->message);
  longjmp(e->jump, 1);
}

static void rtc_jpeg_emit(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  struct rtc_jpeg_err *e = (struct rtc_jpeg_err *)c->err;
  c->err->num_warnings++;
  // bytes between segments (some webcams pad their frames) leave the picture intact
  if (c->err->msg_code != JWRN_EXTRANEOUS_DATA) e->damaged = 1;
  if (e->message) c->err->format_message(c, e->message);
}

static void rtc_jpeg_init_err(struct rtc_jpeg_err *e) {
  jpeg_std_error(&e->pub);
  e->pub.error_exit = rtc_jpeg_error_exit;
  e->pub.emit_message = rtc_jpeg_emit;
  e->damaged = 0;
  e->message = NULL;
}

// ---- decoding ----

struct rtc_jpeg_decoder {
  struct jpeg_decompress_struct cinfo;
  struct rtc_jpeg_err err;
};

rtc_jpeg_decoder *rtc_jpeg_decoder_new(void) {
  rtc_jpeg_decoder *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  rtc_jpeg_init_err(&d->err);
  d->cinfo.err = &d->err.pub;
  if (setjmp(d->err.jump)) {
    free(d);
    return NULL;
  }
  jpeg_create_decompress(&d->cinfo);
  return d;
}

void rtc_jpeg_decoder_free(rtc_jpeg_decoder *d) {
  if (!d) return;
  jpeg_destroy_decompress(&d->cinfo);
  free(d);
}

rtc_jpeg_status rtc_jpeg_decode(rtc_jpeg_decoder *d, const uint8_t *data, size_t len,
                                const rtc_jpeg_planes *planes, rtc_jpeg_info *info) {
  struct jpeg_decompress_struct *c = &d->cinfo;
  memset(info, 0, sizeof *info);
  d->err.damaged = 0;
  d->err.pub.num_warnings = 0;
  d->err.message = info->message;
  if (setjmp(d->err.jump)) {
    jpeg_abort_decompress(c);
    return RTC_JPEG_ERROR;
  }
  if (len < 4) {
    snprintf(info->message, sizeof info->message, "%zu bytes are not a JPEG", len);
    return RTC_JPEG_ERROR;
  }
  jpeg_mem_src(c, data, (unsigned long)len);
  jpeg_read_header(c, TRUE);
  info->width = (int)c->image_width;
  info->height = (int)c->image_height;
  info->components = c->num_components;
  info->progressive = c->progressive_mode || c->arith_code;
  int n = c->num_components;
  for (int ci = 0; ci < n && ci < 3; ci++) {
    info->h_samp[ci] = c->comp_info[ci].h_samp_factor;
    info->v_samp[ci] = c->comp_info[ci].v_samp_factor;
  }
  int ycc = n == 3 && c->jpeg_color_space == JCS_YCbCr;
  int grey = n == 1 && c->jpeg_color_space == JCS_GRAYSCALE;
  if (!ycc && !grey) {
    snprintf(info->message, sizeof info->message, "colour space %d with %d components (need YCbCr or grey)",
             (int)c->jpeg_color_space, n);
    jpeg_abort_decompress(c);
    return RTC_JPEG_UNSUPPORTED;
  }
  // whole MCUs are written: every plane gets MCU columns x (its h factor x 8) bytes per row and
  // iMCU rows x (its v factor x 8) rows
  size_t mcu_cols = (c->image_width + (size_t)c->max_h_samp_factor * DCTSIZE - 1) / ((size_t)c->max_h_samp_factor * DCTSIZE);
  size_t imcu_rows = (c->image_height + (size_t)c->max_v_samp_factor * DCTSIZE - 1) / ((size_t)c->max_v_samp_factor * DCTSIZE);
  int fits = 1;
  for (int ci = 0; ci < n; ci++) {
    info->need_stride[ci] = mcu_cols * (size_t)c->comp_info[ci].h_samp_factor * DCTSIZE;
    info->need_rows[ci] = imcu_rows * (size_t)c->comp_info[ci].v_samp_factor * DCTSIZE;
    if (!planes->plane[ci] || planes->stride[ci] < info->need_stride[ci] || planes->rows[ci] < info->need_rows[ci]) fits = 0;
  }
  if (c->max_v_samp_factor > 2 || c->max_h_samp_factor > 2) {
    snprintf(info->message, sizeof info->message, "sampling factors above 2 (%dx%d)", c->max_h_samp_factor,
             c->max_v_samp_factor);
    jpeg_abort_decompress(c);
    return RTC_JPEG_UNSUPPORTED;
  }
  if (!fits) {
    jpeg_abort_decompress(c);
    return RTC_JPEG_NEED_SPACE;
  }
  c->raw_data_out = TRUE;
  c->out_color_space = c->jpeg_color_space;
  c->do_fancy_upsampling = FALSE;
  c->dct_method = JDCT_ISLOW;
  jpeg_start_decompress(c);
  JSAMPROW r0[2 * DCTSIZE], r1[2 * DCTSIZE], r2[2 * DCTSIZE];
  JSAMPARRAY rows[3] = {r0, r1, r2};
  JDIMENSION lines = (JDIMENSION)c->max_v_samp_factor * DCTSIZE;
  while (c->output_scanline < c->output_height) {
    size_t imcu = c->output_scanline / lines;
    for (int ci = 0; ci < n; ci++) {
      size_t per = (size_t)c->comp_info[ci].v_samp_factor * DCTSIZE;
      for (size_t k = 0; k < per; k++) rows[ci][k] = planes->plane[ci] + (imcu * per + k) * planes->stride[ci];
    }
    if (jpeg_read_raw_data(c, rows, lines) == 0) {
      d->err.damaged = 1;
      break;
    }
  }
  if (c->output_scanline < c->output_height) jpeg_abort_decompress(c);
  else jpeg_finish_decompress(c);
  return d->err.damaged ? RTC_JPEG_DAMAGED : RTC_JPEG_OK;
}

// ---- encoding ----

struct rtc_jpeg_dest {
  struct jpeg_destination_mgr pub;
  int overflow;
};

static void rtc_jpeg_dest_init(j_compress_ptr c) { (void)c; }
static boolean rtc_jpeg_dest_full(j_compress_ptr c) {
  ((struct rtc_jpeg_dest *)c->dest)->overflow = 1;
  ERREXIT(c, JERR_BUFFER_SIZE);
  return FALSE;
}
static void rtc_jpeg_dest_term(j_compress_ptr c) { (void)c; }

struct rtc_jpeg_encoder {
  struct jpeg_compress_struct cinfo;
  struct rtc_jpeg_err err;
  struct rtc_jpeg_dest dest;
};

rtc_jpeg_encoder *rtc_jpeg_encoder_new(void) {
  rtc_jpeg_encoder *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  rtc_jpeg_init_err(&e->err);
  e->cinfo.err = &e->err.pub;
  if (setjmp(e->err.jump)) {
    free(e);
    return NULL;
  }
  jpeg_create_compress(&e->cinfo);
  e->dest.pub.init_destination = rtc_jpeg_dest_init;
  e->dest.pub.empty_output_buffer = rtc_jpeg_dest_full;
  e->dest.pub.term_destination = rtc_jpeg_dest_term;
  e->cinfo.dest = &e->dest.pub;
  return e;
}

void rtc_jpeg_encoder_free(rtc_jpeg_encoder *e) {
  if (!e) return;
  jpeg_destroy_compress(&e->cinfo);
  free(e);
}

rtc_jpeg_status rtc_jpeg_encode_i420(rtc_jpeg_encoder *e, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                            size_t y_stride, size_t uv_stride, int width, int height, int quality,
                            uint8_t *out, size_t capacity, size_t *out_len, char *message) {
  *out_len = 0;
  struct jpeg_compress_struct *c = &e->cinfo;
  message[0] = 0;
  e->err.message = message;
  e->dest.overflow = 0;
  e->dest.pub.next_output_byte = out;
  e->dest.pub.free_in_buffer = capacity;
  if (setjmp(e->err.jump)) {
    jpeg_abort_compress(c);
    if (e->dest.overflow) {
      snprintf(message, JMSG_LENGTH_MAX, "the JPEG did not fit into %zu bytes", capacity);
      return RTC_JPEG_NEED_SPACE;
    }
    return RTC_JPEG_ERROR;
  }
  if (width < 2 || height < 2 || quality < 1 || quality > 100) {
    snprintf(message, JMSG_LENGTH_MAX, "bad JPEG parameters %dx%d quality %d", width, height, quality);
    return RTC_JPEG_ERROR;
  }
  c->image_width = (JDIMENSION)width;
  c->image_height = (JDIMENSION)height;
  c->input_components = 3;
  c->in_color_space = JCS_YCbCr;
  jpeg_set_defaults(c);
  jpeg_set_colorspace(c, JCS_YCbCr);
  jpeg_set_quality(c, quality, TRUE);
  c->raw_data_in = TRUE;
  c->dct_method = JDCT_ISLOW;
  c->comp_info[0].h_samp_factor = 2;
  c->comp_info[0].v_samp_factor = 2;
  for (int ci = 1; ci < 3; ci++) {
    c->comp_info[ci].h_samp_factor = 1;
    c->comp_info[ci].v_samp_factor = 1;
  }
  jpeg_start_compress(c, TRUE);
  JSAMPROW ry[2 * DCTSIZE], ru[DCTSIZE], rv[DCTSIZE];
  JSAMPARRAY rows[3] = {ry, ru, rv};
  size_t last_y = (size_t)height - 1, last_c = ((size_t)height + 1) / 2 - 1;
  while (c->next_scanline < c->image_height) {
    size_t top = c->next_scanline;
    for (size_t k = 0; k < 2 * DCTSIZE; k++) {
      size_t r = top + k < last_y ? top + k : last_y;
      ry[k] = (JSAMPROW)(y + r * y_stride);
    }
    for (size_t k = 0; k < DCTSIZE; k++) {
      size_t r = top / 2 + k < last_c ? top / 2 + k : last_c;
      ru[k] = (JSAMPROW)(u + r * uv_stride);
      rv[k] = (JSAMPROW)(v + r * uv_stride);
    }
    jpeg_write_raw_data(c, rows, 2 * DCTSIZE);
  }
  jpeg_finish_compress(c);
  *out_len = capacity - e->dest.pub.free_in_buffer;
  return RTC_JPEG_OK;
}
