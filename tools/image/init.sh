#!/bin/busybox sh
# /init of tools/image-test's initramfs (busybox sh, PID 1 until switch_root).
#
# Debian's arm64 kernel has virtio_pci, virtio_blk and ext4 as modules, so this loads them (and
# virtio_net, so the NIC is there before systemd starts), mounts the image's root partition
# (/dev/vda2: partition 2 of the virtio disk, as on the Pi's card) read-only and hands over to
# its /sbin/init (systemd) with switch_root. The kernel command line (the image's cmdline.txt)
# reaches systemd unchanged through /proc/cmdline.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "IMAGETEST-INITRAMFS uptime=$(cut -d' ' -f1 /proc/uptime)"
while read -r m; do
  [ -n "$m" ] && { insmod "/lib/modules/$m" || echo "IMAGETEST-INITRAMFS insmod $m failed"; }
done < /lib/modules/order
i=0
while [ ! -b /dev/vda2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o ro /dev/vda2 /newroot; then
  echo "IMAGETEST-INITRAMFS-FAIL cannot mount /dev/vda2"; sleep 2; poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
echo "IMAGETEST-INITRAMFS switch_root"
exec switch_root /newroot /sbin/init
