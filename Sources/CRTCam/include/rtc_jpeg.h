// JPEG through libjpeg-turbo's raw-data API (planes of Y, Cb, Cr at their own sampling; no colour
// conversion). libjpeg reports fatal errors by calling error_exit, which must not return: the
// shim catches it with setjmp/longjmp, which Swift cannot do, so every libjpeg call runs here.
// Policy (what a frame's sampling means, plane sizes, retries) stays in Swift.
#ifndef RTC_JPEG_H
#define RTC_JPEG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/// Result of rtc_jpeg_decode.
typedef enum rtc_jpeg_status {
  /// Decoded completely into the planes.
  RTC_JPEG_OK = 0,
  /// The planes are too small: `info` says what is needed; nothing was written.
  RTC_JPEG_NEED_SPACE = 1,
  /// Decodable JPEG of a kind rtcam does not handle (not YCbCr/grey, 4:1:1, progressive...):
  /// `info` describes it.
  RTC_JPEG_UNSUPPORTED = 2,
  /// The data ended early or the entropy-coded data was corrupt: libjpeg patched the picture,
  /// which is therefore not used. `info.message` says what libjpeg saw.
  RTC_JPEG_DAMAGED = 3,
  /// Not a JPEG or broken beyond decoding (libjpeg's fatal error): `info.message` says why.
  RTC_JPEG_ERROR = 4,
} rtc_jpeg_status;

/// Up to three planes (Y, Cb, Cr) owned by the caller.
typedef struct rtc_jpeg_planes {
  uint8_t *plane[3];
  /// Bytes from one row to the next, and rows available, per plane.
  size_t stride[3];
  size_t rows[3];
} rtc_jpeg_planes;

/// What a frame is, filled by rtc_jpeg_decode whatever the status.
typedef struct rtc_jpeg_info {
  int width, height;
  /// 1 (grey) or 3 (YCbCr).
  int components;
  /// Sampling factors per component (Y first).
  int h_samp[3], v_samp[3];
  /// Plane sizes a decode of this frame writes (whole MCUs, so a little more than width x height).
  size_t need_stride[3], need_rows[3];
  /// 1 for progressive or arithmetic-coded frames (read_raw_data handles them, but they are slow:
  /// reported, not refused).
  int progressive;
  /// libjpeg's text for the last warning or error.
  char message[200];
} rtc_jpeg_info;

typedef struct rtc_jpeg_decoder rtc_jpeg_decoder;
/// NULL when out of memory.
rtc_jpeg_decoder *rtc_jpeg_decoder_new(void);
void rtc_jpeg_decoder_free(rtc_jpeg_decoder *d);
/// Decodes one JPEG (a whole MJPEG frame; missing Huffman tables mean the standard ones, as in
/// UVC MJPEG) into `planes` at the frame's own sampling.
rtc_jpeg_status rtc_jpeg_decode(rtc_jpeg_decoder *d, const uint8_t *data, size_t len,
                                const rtc_jpeg_planes *planes, rtc_jpeg_info *info);

typedef struct rtc_jpeg_encoder rtc_jpeg_encoder;
rtc_jpeg_encoder *rtc_jpeg_encoder_new(void);
void rtc_jpeg_encoder_free(rtc_jpeg_encoder *e);
/// Encodes an I420 picture (baseline, 4:2:0, `quality` 1...100) into out[0..<capacity]. Every Y
/// row must be readable for width rounded up to 16, every chroma row for width/2 rounded up to 8
/// (rows past the bottom are repeated from the last row). RTC_JPEG_OK with the length in `*out_len`;
/// RTC_JPEG_NEED_SPACE when it did not fit into `capacity`; RTC_JPEG_ERROR when libjpeg failed
/// (`message`, >= 200 bytes, says why).
rtc_jpeg_status rtc_jpeg_encode_i420(rtc_jpeg_encoder *e, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                            size_t y_stride, size_t uv_stride, int width, int height, int quality,
                            uint8_t *out, size_t capacity, size_t *out_len, char *message);

#endif
