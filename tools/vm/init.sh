#!/bin/busybox sh
# /init of the tools/vm-test initramfs (runs inside the VM as PID 1, busybox sh).
#
# Loads the modules listed in /lib/modules/order (vivid with node_types=0x1 n_devs=1), brings
# up eth0 on qemu's user network (10.0.2.15/24, gateway 10.0.2.2), checks /dev/video0, runs
# `rtcam probe` once per pixel format, then serves from /dev/video0 until the host kills qemu
# (or vmtest_serve_secs pass) and powers off. With vmtest_mjpeg=1 it also loads v4l2loopback
# as /dev/video10, feeds it MJPEG (tools/vm/mjpegfeed.c), checks the node delivers the frames,
# probes it with --format MJPG (before serving), and after the first browser test (the host
# connects to TCP port 8099, forwarded; the guest answers "mjpeg") serves from /dev/video10 with
# --format MJPG instead. With vmtest_faults=1 it then listens on port 8099 again: when the host
# connects (after its browser tests) it answers "faults", runs the fault phase (/bin/faults,
# tools/vm/faults.sh) and powers off.
#
# Everything the host looks for is one console line starting with VMTEST-:
#   VMTEST-BOOTED, VMTEST-VERSION <text>, VMTEST-DEVICE <path>, VMTEST-DEVICES <rtcam devices
#   output>, VMTEST-NOPROBE,
#   VMTEST-NOFORMAT, VMTEST-PROBE fmt=<FOURCC> rc=<exit> <json line> (VMTEST-PROBE-SLOW: a
#   first attempt that fell short only on the measured rate, retried once), VMTEST-PROBE-LOG
#   <probe stderr>, VMTEST-RTCAM <log line>,
#   VMTEST-SERVING, VMTEST-FAIL <reason>, VMTEST-DONE; the MJPEG phase's: VMTEST-MJPEG-DEVICE
#   <path> <name>, VMTEST-MJPEG-FEED set=<420|422> <feeder output>, VMTEST-MJPEG-FORMAT set=<s>
#   <the node's sysfs format>, VMTEST-MJPEG-CAPTURE set=<s> rc=<exit> <mjpegfeed capture line>,
#   VMTEST-DEVICES-MJPEG <rtcam devices>, VMTEST-PROBE fmt=MJPG:<s> ..., VMTEST-SERVING-MJPEG,
#   VMTEST-RTCAM-M <log line of the MJPEG server>; the fault phase's lines are described
#   in tools/vm/faults.sh (VMTEST-FAULT <name> PASS|FAIL <detail>, VMTEST-FAULTS-DONE).
# Parameters come from the kernel command line (vmtest_udp=, vmtest_formats=, vmtest_source=,
# vmtest_frames=, vmtest_min_fps=, vmtest_serve_secs=, vmtest_probe=0 to skip the probes,
# vmtest_mjpeg=1 for the MJPEG phase, vmtest_mjpeg_min_fps= for its probes' retry,
# vmtest_faults=1 to wait for the host's signal and run the fault phase, vmtest_encoder=1 for the
# vicodec phase and vmtest_encoder_frames= for its probe).

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
faults=0; mjpeg=0; mjpeg_min_fps=20; encoder=0; encoder_frames=1800
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
    vmtest_mjpeg=*) mjpeg=${kv#*=} ;;
    vmtest_mjpeg_min_fps=*) mjpeg_min_fps=${kv#*=} ;;
    vmtest_encoder=*) encoder=${kv#*=} ;;
    vmtest_encoder_frames=*) encoder_frames=${kv#*=} ;;
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

# one probe: label, device, format ("default": none given), minimum rate for the one retry
probe_one() {
  fmtarg=""; [ "$3" = default ] || fmtarg="--format $3"
  attempt=1
  while :; do
    # shellcheck disable=SC2086
    rtcam probe --source "v4l2:$2" --frames "$frames" --size 640x480 $fmtarg \
      > /tmp/probe.out 2> /tmp/probe.err
    rc=$?
    sed 's/^/VMTEST-PROBE-LOG /' /tmp/probe.err
    line=$(grep '^{' /tmp/probe.out | tail -n 1)
    [ -n "$line" ] || line='{}'
    # One retry when the only shortfall is the measured rate: under software emulation on a
    # shared host a scheduling stall can cost a few frames. The first result stays in the log.
    fps=$(echo "$line" | sed -n 's/.*"fps_measured":\([0-9]*\).*/\1/p')
    if [ "$attempt" = 1 ] && [ "$rc" = 0 ] && [ -n "$fps" ] && [ "$fps" -lt "$4" ] \
       && echo "$line" | grep -q '"error":null'; then
      echo "VMTEST-PROBE-SLOW fmt=$1 rc=$rc $line"
      attempt=2
      continue
    fi
    break
  done
  echo "VMTEST-PROBE fmt=$1 rc=$rc $line"
}

stop_pid() { # pid: SIGTERM, then SIGKILL after 10 s
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  i=0
  while [ -d "/proc/$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ ! -d "/proc/$1" ] || { kill -9 "$1" 2>/dev/null; sleep 0.5; }
}

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
    for f in $formats; do probe_one "$f" /dev/video0 "$f" "$min_fps"; done
  fi
fi

# MJPEG on a real kernel driver: v4l2loopback (built for this kernel by the host) as
# /dev/video10, fed by mjpegfeed (tools/vm/mjpegfeed.c) with the JPEG files of
# tools/vm/make_mjpeg.py (/mjpeg/420, /mjpeg/422; half of them without DHT). Per set: the
# feeder starts, `mjpegfeed capture` checks independently of rtcam that the node delivers those
# exact files (VMTEST-MJPEG-CAPTURE), then `rtcam probe --format MJPG` (VMTEST-PROBE
# fmt=MJPG:<set>). The 4:2:2 feeder keeps running for the MJPEG server phase.
mdev=/dev/video10
feed_pid=""
stop_feed() { stop_pid "$feed_pid"; feed_pid=""; rm -f /tmp/feed.pid; }
start_feed() { # set
  stop_feed
  ( mjpegfeed feed "$mdev" 25 "$serve_secs" /mjpeg/"$1"/*.jpg 2>&1 &
    echo $! > /tmp/feed.pid
    wait $!
    echo "mjpegfeed exited with $?" ) | sed "s/^/VMTEST-MJPEG-FEED set=$1 /" &
  i=0
  while [ ! -s /tmp/feed.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  feed_pid=$(cat /tmp/feed.pid 2>/dev/null)
  # the loopback node reports its format once a writer has written a frame
  i=0
  while [ -z "$(cat /sys/class/video4linux/video10/format 2>/dev/null)" ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
  echo "VMTEST-MJPEG-FORMAT set=$1 $(cat /sys/class/video4linux/video10/format 2>/dev/null)"
}
if [ "$mjpeg" = 1 ]; then
  # max_buffers=8 (default 2): the feeder's write() lands in the next driver buffer even if a
  # reader still has it dequeued; with 8 a buffer is rewritten only every 320 ms, not every 80
  insmod /lib/modules/extra/v4l2loopback.ko devices=1 video_nr=10 exclusive_caps=1 max_buffers=8 \
      card_label=rtcam-mjpeg-loopback 2>/tmp/insmod.err \
    || fail "insmod v4l2loopback.ko: $(cat /tmp/insmod.err)"
  i=0
  while [ ! -c "$mdev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -c "$mdev" ] || fail "no $mdev after loading v4l2loopback"
  echo "VMTEST-MJPEG-DEVICE $mdev $(cat /sys/class/video4linux/video10/name 2>/dev/null)"
  for set in 420 422; do
    start_feed "$set"
    mjpegfeed capture "$mdev" 30 15 /mjpeg/"$set"/*.jpg > /tmp/capture.out 2>&1
    echo "VMTEST-MJPEG-CAPTURE set=$set rc=$? $(tail -n 1 /tmp/capture.out)"
    if [ "$set" = 422 ] && rtcam --help 2>&1 | grep -q 'rtcam devices'; then
      rtcam devices 2>&1 | awk '/^\/dev\// { p = ($1 == "/dev/video10:") } p' \
        | sed 's/^/VMTEST-DEVICES-MJPEG /'
    fi
    [ "$probe" = 1 ] && probe_one "MJPG:$set" "$mdev" MJPG "$mjpeg_min_fps"
  done
fi

# The memory-to-memory encoder path on a real kernel driver: vicodec (built for this kernel by
# the host, with v4l2-mem2mem where the kernel has none), loaded multi-planar like a Pi's
# bcm2835-codec. rtcam's own M2M code drives its stateful FWHT encoder:
#   VMTEST-ENCODER-DEVICE <node> <name>; VMTEST-ENCODER-LIST rc=<exit> <probe --encoder JSON>;
#   VMTEST-ENCODER-PROBE rc=<exit> <JSON> (--frames N at 30 fps, then drain and restart);
#   VMTEST-ENCODER-VANISH rc=<exit> ms=<from unbind to exit> <JSON> (the vicodec platform
#   device unbound through sysfs while a probe streams; then bound again);
#   VMTEST-ENCODER-NODE <node> (the encoder node after the rebind: the first server is told
#   --encoder v4l2m2m:<node>, which refuses H.264, and falls back to OpenH264).
enc=""
find_encoder() {
  enc=""
  for n in /sys/class/video4linux/video*; do
    grep -q 'stateful-encoder' "$n/name" 2>/dev/null && enc=/dev/$(basename "$n")
  done
}
if [ "$encoder" = 1 ]; then
  if [ -f /lib/modules/extra/v4l2-mem2mem.ko ]; then
    insmod /lib/modules/extra/v4l2-mem2mem.ko 2>/tmp/insmod.err || fail "insmod v4l2-mem2mem.ko: $(cat /tmp/insmod.err)"
  fi
  insmod /lib/modules/extra/vicodec.ko multiplanar=1 2>/tmp/insmod.err || fail "insmod vicodec.ko: $(cat /tmp/insmod.err)"
  i=0
  while find_encoder && [ -z "$enc" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -n "$enc" ] || fail "no vicodec stateful-encoder node after insmod"
  echo "VMTEST-ENCODER-DEVICE $enc $(cat /sys/class/video4linux/"$(basename "$enc")"/name)"
  rtcam probe --encoder > /tmp/enc.out 2> /tmp/enc.err
  echo "VMTEST-ENCODER-LIST rc=$? $(grep '^{' /tmp/enc.out | tail -n 1)"
  sed 's/^/VMTEST-PROBE-LOG /' /tmp/enc.err
  rtcam probe --encoder "v4l2m2m:$enc" --codec fwht --frames "$encoder_frames" --size 640x480 --fps 30 \
    > /tmp/enc.out 2> /tmp/enc.err
  echo "VMTEST-ENCODER-PROBE rc=$? $(grep '^{' /tmp/enc.out | tail -n 1)"
  sed 's/^/VMTEST-PROBE-LOG /' /tmp/enc.err
  rtcam probe --encoder "v4l2m2m:$enc" --codec fwht --frames 100000 --size 640x480 --fps 30 \
    > /tmp/vanish.out 2> /tmp/vanish.err &
  vpid=$!
  sleep 3
  # the platform device bound to the driver (vicodec.0: vicodec_pdev has the id 0)
  pdev=$(basename "$(ls -d /sys/bus/platform/drivers/vicodec/vicodec* 2>/dev/null | head -n 1)")
  t0=$(cut -d' ' -f1 /proc/uptime)
  echo "$pdev" > /sys/bus/platform/drivers/vicodec/unbind || echo "VMTEST-ENCODER-NOTE unbind $pdev failed"
  i=0
  while [ -d "/proc/$vpid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if [ -d "/proc/$vpid" ]; then
    kill -9 "$vpid" 2>/dev/null
    vrc=hung
  else
    wait "$vpid"
    vrc=$?
  fi
  ms=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", (b - a) * 1000 }')
  echo "VMTEST-ENCODER-VANISH rc=$vrc ms=$ms $(grep '^{' /tmp/vanish.out | tail -n 1)"
  echo "$pdev" > /sys/bus/platform/drivers/vicodec/bind || echo "VMTEST-ENCODER-NOTE bind $pdev failed"
  i=0
  while find_encoder && [ -z "$enc" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  echo "VMTEST-ENCODER-NODE $enc"
fi
echo "VMTEST-PROBES-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"

# serve from inside the VM; the host's browser reaches it through qemu's port forwards
encarg=""; [ -n "$enc" ] && encarg="--encoder v4l2m2m:$enc"
# shellcheck disable=SC2086
( rtcam --source "$source" --listen 0.0.0.0 --ice-host 127.0.0.1 --http-port 8080 \
    --udp-port "$udp" --log-level info $encarg 2>&1 &
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
if [ "$mjpeg" = 1 ]; then
  # the host connects to port 8099 once its browser test of the first server is over; then the
  # server moves to the MJPEG node (same ports) for its second browser test
  if echo mjpeg | timeout "$serve_secs" nc -l -p 8099 > /dev/null 2>&1; then
    stop_pid "$(cat /tmp/rtcam.pid)"
    # no memory-to-memory encoder at all for this server: --encoder auto (the default) picks OpenH264
    if [ -n "$enc" ]; then
      rmmod vicodec 2>/tmp/rmmod.err || echo "VMTEST-ENCODER-NOTE rmmod vicodec: $(cat /tmp/rmmod.err)"
      [ -f /lib/modules/extra/v4l2-mem2mem.ko ] && rmmod v4l2_mem2mem 2>/dev/null
    fi
    [ -n "$feed_pid" ] && [ -d "/proc/$feed_pid" ] || start_feed 422
    rm -f /tmp/rtcam.pid
    ( rtcam --source "v4l2:$mdev" --format MJPG --size 640x480 --fps 25 --listen 0.0.0.0 \
        --ice-host 127.0.0.1 --http-port 8080 --udp-port "$udp" --log-level info 2>&1 &
      echo $! > /tmp/rtcam.pid
      wait $!
      echo "rtcam exited with $?" ) \
      | sed 's/^/VMTEST-RTCAM-M /' &
    i=0
    until wget -q -O /tmp/status.json http://127.0.0.1:8080/status 2>/dev/null || [ $i -ge 300 ]; do
      i=$((i + 1))
      sleep 0.1
      [ $i -lt 10 ] || [ -d "/proc/$(cat /tmp/rtcam.pid 2>/dev/null)" ] || { i=301; break; }
    done
    # not fatal: the fault phase still runs (the host reports the failed MJPEG phase)
    if [ $i -gt 300 ]; then
      echo "VMTEST-MJPEG-SERVE-FAILED the MJPEG rtcam exited before answering GET /status"
    elif [ $i -ge 300 ]; then
      echo "VMTEST-MJPEG-SERVE-FAILED the MJPEG rtcam did not answer GET /status within 30 s"
    else
      echo "VMTEST-SERVING-MJPEG udp=$udp source=v4l2:$mdev uptime=$(cut -d' ' -f1 /proc/uptime)"
    fi
  else
    echo "VMTEST-MJPEG-NOTE no signal for the MJPEG server phase within $serve_secs s"
  fi
fi
if [ "$faults" = 1 ]; then
  # the host connects to port 8099 once its browser tests are over; nc answers and returns
  if echo faults | timeout "$serve_secs" nc -l -p 8099 > /dev/null 2>&1; then
    stop_pid "$(cat /tmp/rtcam.pid)"
    stop_feed
    faults "$(cat /tmp/rtcam.pid)" "$udp"
  else
    echo "VMTEST-FAULT-NOTE no signal for the fault phase within $serve_secs s"
  fi
else
  sleep "$serve_secs"
fi
echo "VMTEST-DONE"
poweroff -f
