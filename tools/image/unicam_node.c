// SPDX-License-Identifier: GPL-2.0-only
/*
 * unicam_node — a stand-in for a Raspberry Pi camera module's receiver node, for tools/image-test
 * (there is no CSI-2 receiver in qemu's virt machine).
 *
 * It registers one V4L2 video node that answers the questions rtcam's default-source detection
 * asks (VIDIOC_QUERYCAP, VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES, VIDIOC_G_FMT) the way
 * bcm2835-unicam's image node does with a camera module attached:
 *   driver "unicam" (UNICAM_MODULE_NAME), card "unicam", bus_info "platform:fe801000.csi";
 *   device caps VIDEO_CAPTURE | READWRITE | STREAMING | IO_MC;
 *   formats: the sensor's raw Bayer only (SRGGB10P and SRGGB10, an IMX219's 10-bit mode),
 *   at 3280x2464, 1920x1080, 1640x1232 and 640x480.
 * It cannot stream: no buffers, no frames (REQBUFS and friends answer ENOTTY). The picture in
 * image-test comes from the stand-in rpicam-vid (tools/image/rpicam_vid.c), as on a Pi it comes
 * from libcamera, which drives the real node.
 *
 * Module parameter: driver= (default "unicam"; "rp1-cfe" for a Pi 5's receiver).
 * Built out of tree against the image kernel's headers (tools/lib/vm.sh, vm_unicam_node).
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <media/v4l2-dev.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/v4l2-ioctl.h>

static char *driver = "unicam";
module_param(driver, charp, 0444);
MODULE_PARM_DESC(driver, "the driver name VIDIOC_QUERYCAP reports (unicam or rp1-cfe)");

static struct v4l2_device standin_v4l2;
static struct video_device standin_vdev;
static DEFINE_MUTEX(standin_lock);

static const u32 standin_formats[] = { V4L2_PIX_FMT_SRGGB10P, V4L2_PIX_FMT_SRGGB10 };
static const struct { u32 w, h; } standin_sizes[] = {
	{ 3280, 2464 }, { 1920, 1080 }, { 1640, 1232 }, { 640, 480 },
};

static int standin_querycap(struct file *file, void *fh, struct v4l2_capability *cap)
{
	strscpy(cap->driver, driver, sizeof(cap->driver));
	strscpy(cap->card, driver, sizeof(cap->card));
	strscpy(cap->bus_info, "platform:fe801000.csi", sizeof(cap->bus_info));
	return 0;
}

static int standin_enum_fmt(struct file *file, void *fh, struct v4l2_fmtdesc *f)
{
	if (f->index >= ARRAY_SIZE(standin_formats))
		return -EINVAL;
	f->pixelformat = standin_formats[f->index];
	return 0;
}

static int standin_enum_framesizes(struct file *file, void *fh, struct v4l2_frmsizeenum *fs)
{
	int i, known = 0;

	for (i = 0; i < ARRAY_SIZE(standin_formats); i++)
		known |= standin_formats[i] == fs->pixel_format;
	if (!known || fs->index >= ARRAY_SIZE(standin_sizes))
		return -EINVAL;
	fs->type = V4L2_FRMSIZE_TYPE_DISCRETE;
	fs->discrete.width = standin_sizes[fs->index].w;
	fs->discrete.height = standin_sizes[fs->index].h;
	return 0;
}

/* g/s/try_fmt: always the sensor's full 10-bit packed mode (the node is never streamed) */
static int standin_fmt(struct file *file, void *fh, struct v4l2_format *f)
{
	struct v4l2_pix_format *p = &f->fmt.pix;

	p->width = 3280;
	p->height = 2464;
	p->pixelformat = V4L2_PIX_FMT_SRGGB10P;
	p->field = V4L2_FIELD_NONE;
	p->bytesperline = ALIGN(3280 * 5 / 4, 32);
	p->sizeimage = p->bytesperline * p->height;
	p->colorspace = V4L2_COLORSPACE_RAW;
	return 0;
}

static const struct v4l2_ioctl_ops standin_ioctl_ops = {
	.vidioc_querycap = standin_querycap,
	.vidioc_enum_fmt_vid_cap = standin_enum_fmt,
	.vidioc_enum_framesizes = standin_enum_framesizes,
	.vidioc_g_fmt_vid_cap = standin_fmt,
	.vidioc_s_fmt_vid_cap = standin_fmt,
	.vidioc_try_fmt_vid_cap = standin_fmt,
};

static const struct v4l2_file_operations standin_fops = {
	.owner = THIS_MODULE,
	.open = v4l2_fh_open,
	.release = v4l2_fh_release,
	.unlocked_ioctl = video_ioctl2,
};

static int __init standin_init(void)
{
	int ret;

	strscpy(standin_v4l2.name, "unicam-standin", sizeof(standin_v4l2.name));
	ret = v4l2_device_register(NULL, &standin_v4l2);
	if (ret)
		return ret;
	strscpy(standin_vdev.name, "unicam-image", sizeof(standin_vdev.name));
	standin_vdev.v4l2_dev = &standin_v4l2;
	standin_vdev.fops = &standin_fops;
	standin_vdev.ioctl_ops = &standin_ioctl_ops;
	standin_vdev.release = video_device_release_empty;
	standin_vdev.lock = &standin_lock;
	standin_vdev.vfl_dir = VFL_DIR_RX;
	standin_vdev.device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE | V4L2_CAP_STREAMING | V4L2_CAP_IO_MC;
	ret = video_register_device(&standin_vdev, VFL_TYPE_VIDEO, -1);
	if (ret) {
		v4l2_device_unregister(&standin_v4l2);
		return ret;
	}
	pr_info("unicam_node: %s stands in for a camera module's receiver (driver %s)\n",
		video_device_node_name(&standin_vdev), driver);
	return 0;
}

static void __exit standin_exit(void)
{
	video_unregister_device(&standin_vdev);
	v4l2_device_unregister(&standin_v4l2);
}

module_init(standin_init);
module_exit(standin_exit);
MODULE_DESCRIPTION("rtcam image-test: a stand-in for a camera module's unicam/rp1-cfe video node");
MODULE_LICENSE("GPL");
