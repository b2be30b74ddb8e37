#!/bin/busybox sh
# /bin/faults of the tools/vm-test initramfs: camera faults on the real vivid driver.
#
# Run by /init (tools/vm/init.sh) after the browser phase, as `faults SERVER_PID UDP_PORT`:
# stops the serving rtcam (SERVER_PID), then, with its own rtcam on HTTP port 8081 (loopback):
#   missing      rmmod vivid, start rtcam --source v4l2:/dev/video0: GET /status must show
#                source.state "failed", source.error CAMERA_NOT_FOUND;
#   back         insmod vivid: /status "running" and frames_captured increasing within 15 s;
#   busy         `rtcam probe --source v4l2:/dev/video0 --frames 5` while rtcam streams: exit 1
#                with "error":{"code":"CAMERA_BUSY"...}, and the server keeps capturing;
#   unplugged    vivid's "Disconnect" control (unregisters the video node under the open file,
#                as a USB unplug does): /status shows CAMERA_LOST within 10 s;
#   replugged    rmmod vivid (retried until rtcam has closed the device, at most 15 s), insmod:
#                /status "running" and frames_captured increasing within 15 s;
#   dropped      rtcam stopped; vivid's "Percentage of Dropped Buffers" = 30: `rtcam probe
#                --frames 30` must succeed and report "dropped" > 0 (then set back to 0).
# Each result is one console line `VMTEST-FAULT <name> PASS|FAIL <detail>`; the server's log
# lines are prefixed VMTEST-RTCAM-F; ends with VMTEST-FAULTS-DONE. Every wait is bounded.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
server_pid=$1
udp=${2:-8189}
fudp=$((udp == 8190 ? 8191 : 8190))
port=8081
dev=/dev/video0
ko=/lib/modules/vivid.ko

now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
since() { awk -v a="$1" -v b="$(now_cs)" 'BEGIN { printf "%.1f s", (b - a) / 100 }'; }
result() { echo "VMTEST-FAULT $*"; }

# GET /status of the fault-phase server; "" if it does not answer (busybox 1.35's wget -T
# crashes, hence timeout)
status() { timeout 5 wget -q -O - "http://127.0.0.1:$port/status" 2>/dev/null; }
field_state() { echo "$1" | sed -n 's/.*"source":{"spec":"[^"]*","state":"\([a-z]*\)".*/\1/p'; }
field_error() { echo "$1" | sed -n 's/.*"source":{[^}]*"error":"\([A-Z_]*\)".*/\1/p'; }
field_frames() { echo "$1" | sed -n 's/.*"frames_captured":\([0-9]*\).*/\1/p'; }

stop_pid() { # pid: SIGTERM, then SIGKILL after 10 s
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  i=0
  while [ -d "/proc/$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if [ -d "/proc/$1" ]; then
    echo "VMTEST-FAULT-NOTE pid $1 ignored SIGTERM for 10 s; killing it"
    kill -9 "$1" 2>/dev/null
    sleep 0.5
  fi
}

unload_vivid() { # seconds: rmmod, retried while the module is in use
  t0=$(now_cs)
  while grep -q '^vivid ' /proc/modules; do
    rmmod vivid 2>/tmp/rmmod.err && break
    [ $(( $(now_cs) - t0 )) -lt $(($1 * 100)) ] || return 1
    sleep 0.2
  done
  # the node goes with the module
  i=0
  while [ -e "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ ! -e "$dev" ]
}

load_vivid() {
  insmod "$ko" node_types=0x1 n_devs=1 2>/tmp/insmod.err || return 1
  i=0
  while [ ! -c "$dev" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -c "$dev" ]
}

rtcam_pid=""
start_rtcam() {
  ( rtcam --source "v4l2:$dev" --listen 127.0.0.1 --ice-host 127.0.0.1 --http-port "$port" \
      --udp-port "$fudp" --log-level info 2>&1 &
    echo $! > /tmp/rtcam-fault.pid
    wait $!
    echo "rtcam exited with $?" ) | sed 's/^/VMTEST-RTCAM-F /' &
  i=0
  while [ ! -s /tmp/rtcam-fault.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  rtcam_pid=$(cat /tmp/rtcam-fault.pid 2>/dev/null)
}

# Waits up to $1 s for /status to show state $2 (and error $3 if given); sets $st to the last
# answer and returns 0 when seen.
wait_state() {
  t0w=$(now_cs)
  while :; do
    st=$(status)
    if [ "$(field_state "$st")" = "$2" ] && { [ -z "$3" ] || [ "$(field_error "$st")" = "$3" ]; }; then
      return 0
    fi
    [ $(( $(now_cs) - t0w )) -lt $(($1 * 100)) ] || return 1
    sleep 0.2
  done
}

# Waits up to $1 s for "running" with frames_captured rising by >= 5 from its first running
# value; sets f_first/f_last.
wait_streaming() {
  t0s=$(now_cs)
  f_first=""
  f_last=""
  while :; do
    st=$(status)
    if [ "$(field_state "$st")" = running ]; then
      f=$(field_frames "$st")
      [ -n "$f_first" ] || f_first=$f
      f_last=$f
      [ -n "$f" ] && [ "$f" -ge $((f_first + 5)) ] && return 0
    fi
    [ $(( $(now_cs) - t0s )) -lt $(($1 * 100)) ] || return 1
    sleep 0.2
  done
}

describe() { # the source object of the last /status, for details
  echo "$st" | sed -n 's/.*"source":\({[^}]*}\).*/\1/p' | cut -c1-300
}

T0=$(now_cs)
echo "VMTEST-FAULTS-START uptime=$(cut -d' ' -f1 /proc/uptime)"
stop_pid "$server_pid"

# vivid's controls as the running driver lists them (the ids used below come from here)
v4l2ctl "$dev" list 2>&1 | grep -E 'Disconnect|Dropped' | sed 's/^/VMTEST-FAULT-CTRL /'

# ---- missing: rtcam starts while there is no camera ----
if ! unload_vivid 15; then
  result missing FAIL "rmmod vivid failed: $(cat /tmp/rmmod.err)"
fi
start_rtcam
t=$(now_cs)
if [ -e "$dev" ]; then
  : # reported above
elif wait_state 15 failed CAMERA_NOT_FOUND; then
  result missing PASS "after $(since "$t"): $(describe)"
else
  result missing FAIL "no state failed/CAMERA_NOT_FOUND within 15 s; last /status source: $(describe)"
fi

# ---- back: the camera appears ----
t=$(now_cs)
if ! load_vivid; then
  result back FAIL "insmod vivid failed: $(cat /tmp/insmod.err)"
elif wait_streaming 15; then
  result back PASS "running, frames_captured $f_first -> $f_last, $(since "$t") after insmod"
else
  result back FAIL "not running with rising frames_captured within 15 s of insmod (frames $f_first -> $f_last); last /status source: $(describe)"
fi

# ---- busy: a second program wants the streaming camera ----
if [ "$(field_state "$(status)")" != running ]; then
  result busy FAIL "precondition: the server is not streaming"
else
  timeout 30 rtcam probe --source "v4l2:$dev" --frames 5 > /tmp/busy.out 2> /tmp/busy.err
  rc=$?
  line=$(grep '^{' /tmp/busy.out | tail -n 1)
  sed 's/^/VMTEST-FAULT-LOG busy probe: /' /tmp/busy.err | tail -n 5
  code=$(echo "$line" | sed -n 's/.*"error":{"code":"\([A-Z_]*\)".*/\1/p')
  if [ "$rc" = 1 ] && [ "$code" = CAMERA_BUSY ]; then
    if wait_streaming 10; then
      result busy PASS "probe exit 1, $(echo "$line" | sed -n 's/.*\("error":{[^}]*}\).*/\1/p'); server still capturing ($f_first -> $f_last)"
    else
      result busy FAIL "probe exit 1 with CAMERA_BUSY, but the server stopped capturing: $(describe)"
    fi
  else
    result busy FAIL "probe exit $rc, error code '$code', want exit 1 and CAMERA_BUSY: $line"
  fi
fi

# ---- unplugged: the node disappears under the streaming server ----
t=$(now_cs)
if [ "$(field_state "$(status)")" != running ]; then
  result unplugged FAIL "precondition: the server is not streaming"
elif ! out=$(v4l2ctl "$dev" Disconnect 1 2>&1); then
  result unplugged FAIL "setting vivid's Disconnect control failed: $out"
else
  echo "VMTEST-FAULT-LOG $out"
  if wait_state 10 failed CAMERA_LOST; then
    result unplugged PASS "CAMERA_LOST $(since "$t") after Disconnect ($out): $(describe)"
  else
    result unplugged FAIL "no state failed/CAMERA_LOST within 10 s of Disconnect ($out); last /status source: $(describe)"
  fi
fi

# ---- replugged: once rtcam has let go, reload the driver ----
t=$(now_cs)
if ! unload_vivid 15; then
  result replugged FAIL "rmmod vivid kept failing for 15 s (is rtcam still holding the device?): $(cat /tmp/rmmod.err); /status source: $(st=$(status); describe)"
  # leave a camera behind anyway
  stop_pid "$rtcam_pid"; rtcam_pid=""
  unload_vivid 10
  load_vivid
else
  t_rm=$(since "$t")
  st=$(status)
  gone="$(field_state "$st")/$(field_error "$st")"
  t=$(now_cs)
  if ! load_vivid; then
    result replugged FAIL "insmod vivid failed: $(cat /tmp/insmod.err)"
  elif wait_streaming 15; then
    result replugged PASS "rmmod after $t_rm (state while gone: $gone); running again, frames_captured $f_first -> $f_last, $(since "$t") after insmod"
  else
    result replugged FAIL "not running with rising frames_captured within 15 s of insmod (state while gone: $gone); last /status source: $(describe)"
  fi
fi
stop_pid "$rtcam_pid"

# ---- dropped: the driver skips 30% of the buffers ----
if ! out=$(v4l2ctl "$dev" "Percentage of Dropped Buffers" 30 2>&1); then
  result dropped FAIL "setting vivid's Percentage of Dropped Buffers failed: $out"
else
  echo "VMTEST-FAULT-LOG $out"
  timeout 60 rtcam probe --source "v4l2:$dev" --frames 30 > /tmp/drop.out 2> /tmp/drop.err
  rc=$?
  line=$(grep '^{' /tmp/drop.out | tail -n 1)
  dropped=$(echo "$line" | sed -n 's/.*"dropped":\([0-9]*\).*/\1/p')
  if [ "$rc" = 0 ] && echo "$line" | grep -q '"error":null' && [ -n "$dropped" ] && [ "$dropped" -gt 0 ]; then
    result dropped PASS "probe: $line"
  else
    sed 's/^/VMTEST-FAULT-LOG dropped probe: /' /tmp/drop.err | tail -n 5
    result dropped FAIL "probe exit $rc, dropped '$dropped', want exit 0, no error and dropped > 0: $line"
  fi
  v4l2ctl "$dev" "Percentage of Dropped Buffers" 0 > /dev/null 2>&1
fi

echo "VMTEST-FAULTS-DONE $(since "$T0")"
