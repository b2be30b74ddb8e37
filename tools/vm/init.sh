#!/bin/busybox sh
# /init of the tools/vm-test initramfs (runs inside the VM as PID 1, busybox sh).
#
# Loads the modules listed in /lib/modules/order (vivid with node_types=0x1 n_devs=1), brings
# up eth0 on qemu's user network (10.0.2.15/24, gateway 10.0.2.2), checks /dev/video0, runs
# `rtcam probe` once per pixel format, then serves from /dev/video0 until the host kills qemu
# (or vmtest_serve_secs pass) and powers off. With vmtest_faults=1 it also listens on TCP port
# 8099 (forwarded by the host): when the host connects (after its browser test) it answers
# "faults", runs the fault phase (/bin/faults, tools/vm/faults.sh) and powers off.
#
# Everything the host looks for is one console line starting with VMTEST-:
#   VMTEST-BOOTED, VMTEST-VERSION <text>, VMTEST-DEVICE <path>, VMTEST-DEVICES <rtcam devices
#   output>, VMTEST-NOPROBE,
#   VMTEST-NOFORMAT, VMTEST-PROBE fmt=<FOURCC> rc=<exit> <json line> (VMTEST-PROBE-SLOW: a
#   first attempt that fell short only on the measured rate, retried once), VMTEST-PROBE-LOG
#   <probe stderr>, VMTEST-RTCAM <log line>,
#   VMTEST-SERVING, VMTEST-FAIL <reason>, VMTEST-DONE; the fault phase's lines are described
#   in tools/vm/faults.sh (VMTEST-FAULT <name> PASS|FAIL <detail>, VMTEST-FAULTS-DONE).
# Parameters come from the kernel command line (vmtest_udp=, vmtest_formats=, vmtest_source=,
# vmtest_frames=, vmtest_min_fps=, vmtest_serve_secs=, vmtest_probe=0 to skip the probes,
# vmtest_faults=1 to wait for the host's signal and run the fault phase).

/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "VMTEST-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"

fail() { echo "VMTEST-FAIL $*"; echo "VMTEST-DONE"; poweroff -f; sleep 60; }

# kernel command line parameters
udp=8189; formats="YUYV YU12 NV12"; source=v4l2:/dev/video0; frames=30; serve_secs=600; probe=1; min_fps=20
faults=0
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    vmtest_udp=*) udp=${kv#*=} ;;
    vmtest_formats=*) formats=$(echo "${kv#*=}" | tr ',' ' ') ;;
    vmtest_source=*) source=${kv#*=} ;;
    vmtest_frames=*) frames=${kv#*=} ;;
    vmtest_serve_secs=*) serve_secs=${kv#*=} ;;
    vmtest_probe=*) probe=${kv#*=} ;;
    vmtest_min_fps=*) min_fps=${kv#*=} ;;
    vmtest_faults=*) faults=${kv#*=} ;;
  esac
done

# modules, in dependency order (computed on the host with modprobe --show-depends)
while read -r m; do
  [ -n "$m" ] || continue
  case "$m" in
    vivid.ko) insmod "/lib/modules/$m" node_types=0x1 n_devs=1 || fail "insmod $m" ;;
    *) insmod "/lib/modules/$m" || fail "insmod $m" ;;
  esac
done < /lib/modules/order
echo "VMTEST-MODULES uptime=$(cut -d' ' -f1 /proc/uptime)"

# network: qemu user networking (slirp) — the host forwards loopback ports to 10.0.2.15
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || fail "no eth0 (virtio-net driver did not bind)"
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

# the camera
i=0
while [ ! -e /dev/video0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/video0 ] || fail "no /dev/video0 after loading vivid"
echo "VMTEST-DEVICE /dev/video0 $(cat /sys/class/video4linux/video0/name 2>/dev/null)"

echo "VMTEST-VERSION $(rtcam --version 2>&1)"
rtcam --version >/dev/null 2>&1 || fail "rtcam --version failed"

# what rtcam sees (for the log only)
if rtcam --help 2>&1 | grep -q 'rtcam devices'; then
  rtcam devices 2>&1 | sed 's/^/VMTEST-DEVICES /'
fi

# probes, one per pixel format
if [ "$probe" = 1 ]; then
  help=$(rtcam --help 2>&1)
  if ! echo "$help" | grep -q 'probe'; then
    echo "VMTEST-NOPROBE rtcam --help lists no probe command"
  else
    if ! echo "$help" | grep -q -- '--format'; then
      echo "VMTEST-NOFORMAT rtcam --help lists no --format option; probing once with the camera's default format"
      formats=default
    fi
    for f in $formats; do
      fmtarg=""; [ "$f" = default ] || fmtarg="--format $f"
      attempt=1
      while :; do
        # shellcheck disable=SC2086
        rtcam probe --source v4l2:/dev/video0 --frames "$frames" --size 640x480 $fmtarg \
          > /tmp/probe.out 2> /tmp/probe.err
        rc=$?
        sed 's/^/VMTEST-PROBE-LOG /' /tmp/probe.err
        line=$(grep '^{' /tmp/probe.out | tail -n 1)
        [ -n "$line" ] || line='{}'
        # One retry when the only shortfall is the measured rate: under software emulation on a
        # shared host a scheduling stall can cost a few frames. The first result stays in the log.
        fps=$(echo "$line" | sed -n 's/.*"fps_measured":\([0-9]*\).*/\1/p')
        if [ "$attempt" = 1 ] && [ "$rc" = 0 ] && [ -n "$fps" ] && [ "$fps" -lt "$min_fps" ] \
           && echo "$line" | grep -q '"error":null'; then
          echo "VMTEST-PROBE-SLOW fmt=$f rc=$rc $line"
          attempt=2
          continue
        fi
        break
      done
      echo "VMTEST-PROBE fmt=$f rc=$rc $line"
    done
  fi
fi
echo "VMTEST-PROBES-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"

# serve from inside the VM; the host's browser reaches it through qemu's port forwards
( rtcam --source "$source" --listen 0.0.0.0 --ice-host 127.0.0.1 --http-port 8080 \
    --udp-port "$udp" --log-level info 2>&1 &
  echo $! > /tmp/rtcam.pid
  wait $!
  echo "rtcam exited with $?" ) \
  | sed 's/^/VMTEST-RTCAM /' &
i=0
until wget -q -O /tmp/status.json http://127.0.0.1:8080/status 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "rtcam did not answer GET /status within 30 s"
  sleep 0.1
done
echo "VMTEST-SERVING udp=$udp source=$source uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ "$faults" = 1 ]; then
  # the host connects to port 8099 once its browser test is over; nc answers and returns
  if echo faults | timeout "$serve_secs" nc -l -p 8099 > /dev/null 2>&1; then
    faults "$(cat /tmp/rtcam.pid)" "$udp"
  else
    echo "VMTEST-FAULT-NOTE no signal for the fault phase within $serve_secs s"
  fi
else
  sleep "$serve_secs"
fi
echo "VMTEST-DONE"
poweroff -f
