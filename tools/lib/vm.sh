# tools/lib/vm.sh — the Debian kernel, v4l2loopback module, busybox and image userland the VM
# tests boot, fetched and prepared once into the build cache (tools/lib/cache.sh). Sourced by
# tools/vm-test, tools/image-test and tools/prefetch after tools/lib/cache.sh, with `arch`
# (x86_64 or aarch64), `debarch` (amd64 or arm64) and a `log` function set.
#
# The kernel is Debian 12's newest linux-image-6.1.0-N-<debarch> that apt knows (or
# RTCAM_VM_KERNEL=linux-image-6.1.0-N-<flavour>); its package is fetched with `apt-get download`
# (nothing is installed) and only vmlinuz and the module directories the VM needs are unpacked,
# then `depmod -b`. Entries are keyed by the package file names (so by their versions) and the
# text of the functions that make them.

# vm_kernel_pkg: the kernel package's name
vm_kernel_pkg() {
  if [ -n "${RTCAM_VM_KERNEL:-}" ]; then echo "$RTCAM_VM_KERNEL"; return; fi
  apt-cache "${APT_OPTS[@]}" search --names-only "^linux-image-6\.1\.0-[0-9]+-$debarch\$" | awk '{ print $1 }' | sort -V | tail -n 1
}

# vm_unpack_kernel DEB DIR: vmlinuz and the module subtrees the VM needs (the whole tree is
# ~400 MB), depmod'ed; DIR/.version holds the kernel version
vm_unpack_kernel() {
  local m='./lib/modules/*' kv
  dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards \
    './boot/vmlinuz-*' "$m/modules.*" "$m/kernel/drivers/media/rc/*" "$m/kernel/drivers/media/cec/*" \
    "$m/kernel/drivers/media/mc/*" "$m/kernel/drivers/media/v4l2-core/*" "$m/kernel/drivers/media/common/*" \
    "$m/kernel/drivers/media/test-drivers/*" "$m/kernel/drivers/virtio/*" "$m/kernel/drivers/net/virtio_net.ko" \
    "$m/kernel/drivers/net/net_failover.ko" "$m/kernel/net/core/*" "$m/kernel/drivers/char/hw_random/*" || return 1
  kv=$(ls "$2/lib/modules" | head -n 1)
  [ -n "$kv" ] && ls "$2/boot/vmlinuz-$kv" >/dev/null || { echo "vm: unexpected layout of $(basename "$1")" >&2; return 1; }
  depmod -b "$2" "$kv"
  echo "$kv" > "$2/.version"
}

# vm_kernel: fetches and unpacks the kernel when the cache has it not; sets kdeb (the package
# file), kroot (the unpacked tree), kver and kernel (vmlinuz)
vm_kernel() {
  local pkg tmp
  pkg=$(vm_kernel_pkg)
  [ -n "$pkg" ] || { echo "vm: apt knows no linux-image-6.1.0-*-$debarch package (run tools/setup)" >&2; return 1; }
  kdeb=$(deb_fetch "$pkg:$debarch") || return 1
  kroot=$CACHE/vm/$arch/kernel-$(cache_key "$(basename "$kdeb")" "$(declare -f vm_unpack_kernel)")
  if [ ! -d "$kroot" ]; then
    cache_lock "vm-kernel-$arch" || return 1
    if [ ! -d "$kroot" ]; then
      log "unpacking $(basename "$kdeb")"
      tmp=$(cache_tmp)
      vm_unpack_kernel "$kdeb" "$tmp" || { rm -rf "$tmp"; cache_unlock; return 1; }
      cache_commit "$tmp" "$kroot"
    fi
    cache_unlock
  fi
  cache_used "$kroot"
  kver=$(cat "$kroot/.version")
  kernel=$kroot/boot/vmlinuz-$kver
}

# vm_header_debs: the headers of exactly the kernel package vm_kernel set (linux-headers-<kver>,
# linux-headers-<abi>-common, and linux-kbuild-6.1 for the host's machine, whose scripts/ and
# tools/ the headers link to): what out-of-tree modules are built against
vm_header_debs() {
  local kpkgver hostarch
  kpkgver=$(dpkg-deb -f "$kdeb" Version)
  hostarch=$(dpkg --print-architecture)
  echo "linux-headers-$kver:$debarch=$kpkgver" "linux-headers-${kver%-*}-common=$kpkgver" \
    "linux-kbuild-$(echo "$kver" | cut -d. -f1,2):$hostarch=$kpkgver"
}

# vm_loopback_debs: the headers and the newest v4l2loopback-dkms
vm_loopback_debs() { echo "$(vm_header_debs) v4l2loopback-dkms"; }

# vm_vicodec_debs: the headers and linux-source-6.1 of the kernel package's own version
vm_vicodec_debs() {
  echo "$(vm_header_debs) linux-source-$(echo "$kver" | cut -d. -f1,2)=$(dpkg-deb -f "$kdeb" Version)"
}

# vm_headers_tree B DEB...: unpacks the header packages (nothing is installed) into B/tree and
# points the headers' one-line Makefile at the unpacked common tree instead of /usr/src; sets hdr
# (what `make -C` takes)
vm_headers_tree() {
  local b=$1 d abi=${kver%-*} common; shift
  for d in "$@"; do dpkg-deb -x "$d" "$b/tree" || return 1; done
  hdr=$b/tree/usr/src/linux-headers-$kver common=$b/tree/usr/src/linux-headers-$abi-common
  [ -f "$hdr/Makefile" ] && [ -f "$common/Makefile" ] || { echo "vm: unexpected layout of the headers packages" >&2; return 1; }
  grep -qx "include /usr/src/linux-headers-$abi-common/Makefile" "$hdr/Makefile" \
    || { echo "vm: $hdr/Makefile is not the one-line include expected: $(head -c 200 "$hdr/Makefile")" >&2; return 1; }
  printf 'include %s/Makefile\n' "$common" > "$hdr/Makefile"
}

# vm_kbuild B M WHAT: builds the out-of-tree modules in M against the unpacked headers ($hdr)
# with CROSS_COMPILE=$cross (the kernel's CC is ${cross}gcc-12), its log in B/make.log; on
# failure the log's tail and "building WHAT failed"
vm_kbuild() {
  make -C "$hdr" M="$2" CROSS_COMPILE="$cross" modules > "$1/make.log" 2>&1 && return 0
  tail -n 30 "$1/make.log" >&2; echo "vm: building $3 failed" >&2; return 1
}

# vm_cached_build VAR NAME BUILD DEBS: the cache entry NAME for this kernel, keyed by the package
# files DEBS (a function printing them), the cross compiler and the text of BUILD; made with
# `BUILD DIR` under a lock when the cache has it not; its directory goes into VAR
vm_cached_build() {
  # (its own names carry a prefix: `printf -v` must reach the caller's VAR, not a local here)
  local vcb_var=$1 vcb_name=$2 vcb_build=$3 vcb_debs=$4 vcb_names vcb_dir vcb_tmp
  vcb_names=$(deb_files $("$vcb_debs") | xargs) || { echo "vm: apt knows not all of $("$vcb_debs")" >&2; return 1; }
  vcb_dir=$CACHE/vm/$arch/$vcb_name-$(cache_key "$vcb_names" "$("${cross}gcc-12" --version | head -n 1)" \
    "$(declare -f "$vcb_build" vm_kbuild)")
  if [ ! -d "$vcb_dir" ]; then
    cache_lock "vm-$vcb_name-$arch" || return 1
    if [ ! -d "$vcb_dir" ]; then
      vcb_tmp=$(cache_tmp)
      "$vcb_build" "$vcb_tmp" || { rm -rf "$vcb_tmp"; cache_unlock; return 1; }
      cache_commit "$vcb_tmp" "$vcb_dir"
    fi
    cache_unlock
  fi
  cache_used "$vcb_dir"
  printf -v "$vcb_var" '%s' "$vcb_dir"
}

# vm_build_loopback DIR: builds v4l2loopback.ko into DIR against the unpacked headers
# (`make -C <headers> M=<src> modules` with CROSS_COMPILE=$cross: the kernel's CC is
# ${cross}gcc-12)
vm_build_loopback() {
  local out=$1 b src debs hdr
  b=$(cache_tmp)
  mapfile -t debs < <(deb_fetch $(vm_loopback_debs)) && [ ${#debs[@]} = 4 ] || { rm -rf "$b"; return 1; }
  vm_headers_tree "$b" "${debs[@]}" || { rm -rf "$b"; return 1; }
  src=$(ls -d "$b"/tree/usr/src/v4l2loopback-* | head -n 1)
  [ -n "$src" ] || { echo "vm: no v4l2loopback source in $(basename "${debs[3]}")" >&2; rm -rf "$b"; return 1; }
  log "building $(basename "$src") for $kver (CROSS_COMPILE=$cross)"
  vm_kbuild "$b" "$src" v4l2loopback.ko || { rm -rf "$b"; return 1; }
  "${cross}objcopy" --strip-debug "$src/v4l2loopback.ko" "$out/v4l2loopback.ko" || { rm -rf "$b"; return 1; }
  basename "$src" > "$out/.source"
  rm -rf "$b"   # the unpacked headers are ~85 MB; only the module is kept
}

# vm_loopback: v4l2loopback.ko for the kernel vm_kernel set, built when the cache has it not;
# sets loopback (the .ko) and loopback_source (v4l2loopback-VERSION)
vm_loopback() {
  local dir
  vm_cached_build dir v4l2loopback vm_build_loopback vm_loopback_debs || return 1
  loopback=$dir/v4l2loopback.ko
  loopback_source=$(cat "$dir/.source")
}

# vm_build_vicodec DIR: builds vicodec.ko (the kernel's virtual stateful codec,
# drivers/media/test-drivers/vicodec) into DIR out of tree, with v4l2-mem2mem.ko
# (drivers/media/v4l2-core/v4l2-mem2mem.c) when the kernel package has none (Debian's amd64
# config leaves CONFIG_V4L2_MEM2MEM_DEV unset; arm64 builds it). Only those files are taken from
# linux-source's tarball; the module Makefile lists the objects the kernel's own Makefiles do.
vm_build_vicodec() {
  local out=$1 b debs hdr m2m=0 src
  b=$(cache_tmp)
  mapfile -t debs < <(deb_fetch $(vm_vicodec_debs)) && [ ${#debs[@]} = 4 ] || { rm -rf "$b"; return 1; }
  vm_headers_tree "$b" "${debs[@]:0:3}" || { rm -rf "$b"; return 1; }
  src=linux-source-$(echo "$kver" | cut -d. -f1,2)
  dpkg-deb --fsys-tarfile "${debs[3]}" | tar -x -C "$b" "./usr/src/$src.tar.xz" || { rm -rf "$b"; return 1; }
  tar -xJf "$b/usr/src/$src.tar.xz" -C "$b" "$src/drivers/media/test-drivers/vicodec" \
    "$src/drivers/media/v4l2-core/v4l2-mem2mem.c" || { rm -rf "$b"; return 1; }
  mkdir -p "$b/m"
  cp "$b/$src"/drivers/media/test-drivers/vicodec/*.[ch] "$b/m/"
  printf 'obj-m += vicodec.o\nvicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o\n' > "$b/m/Kbuild"
  if [ -z "$(find "$kroot/lib/modules/$kver" -name 'v4l2-mem2mem.ko*' | head -n 1)" ]; then
    m2m=1
    cp "$b/$src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$b/m/"
    echo 'obj-m += v4l2-mem2mem.o' >> "$b/m/Kbuild"
  fi
  log "building vicodec$([ $m2m = 1 ] && echo " and v4l2-mem2mem") from $(basename "${debs[3]}") for $kver (CROSS_COMPILE=$cross)"
  vm_kbuild "$b" "$b/m" vicodec.ko || { rm -rf "$b"; return 1; }
  "${cross}objcopy" --strip-debug "$b/m/vicodec.ko" "$out/vicodec.ko" || { rm -rf "$b"; return 1; }
  if [ $m2m = 1 ]; then "${cross}objcopy" --strip-debug "$b/m/v4l2-mem2mem.ko" "$out/v4l2-mem2mem.ko" || { rm -rf "$b"; return 1; }; fi
  basename "${debs[3]}" > "$out/.source"
  rm -rf "$b"
}

# vm_vicodec: vicodec.ko (and v4l2-mem2mem.ko where the kernel lacks it) for the kernel vm_kernel
# set, built when the cache has it not; sets vicodec_dir (the directory) and vicodec_source
vm_vicodec() {
  vm_cached_build vicodec_dir vicodec vm_build_vicodec vm_vicodec_debs || return 1
  vicodec_source=$(cat "$vicodec_dir/.source")
}

# vm_build_unicam_node DIR: builds tools/image/unicam_node.c (a stand-in for a camera module's
# receiver node, for tools/image-test) into DIR against the unpacked headers
vm_build_unicam_node() {
  local out=$1 b debs hdr
  b=$(cache_tmp)
  mapfile -t debs < <(deb_fetch $(vm_header_debs)) && [ ${#debs[@]} = 3 ] || { rm -rf "$b"; return 1; }
  vm_headers_tree "$b" "${debs[@]}" || { rm -rf "$b"; return 1; }
  mkdir -p "$b/m"; cp "$root/tools/image/unicam_node.c" "$b/m/"; echo 'obj-m += unicam_node.o' > "$b/m/Kbuild"
  log "building unicam_node.ko for $kver (CROSS_COMPILE=$cross)"
  vm_kbuild "$b" "$b/m" unicam_node.ko || { rm -rf "$b"; return 1; }
  "${cross}objcopy" --strip-debug "$b/m/unicam_node.ko" "$out/unicam_node.ko" || { rm -rf "$b"; return 1; }
  rm -rf "$b"
}

# vm_unicam_node: unicam_node.ko for the kernel vm_kernel set (the cache entry's name carries a
# hash of the source), built when the cache has it not; sets unicam_node (the .ko)
vm_unicam_node() {
  local dir
  vm_cached_build dir "unicam-node-$(sha256sum "$root/tools/image/unicam_node.c" | cut -c1-16)" \
    vm_build_unicam_node vm_header_debs || return 1
  unicam_node=$dir/unicam_node.ko
}

# vm_busybox: the guest's static busybox (x86_64: the host's busybox-static; aarch64:
# busybox-static:arm64 fetched and unpacked into the cache); sets busybox
vm_busybox() {
  local deb dir tmp
  if [ "$arch" = x86_64 ]; then busybox=/bin/busybox; return 0; fi
  deb=$(deb_fetch "busybox-static:$debarch") || return 1
  dir=$CACHE/vm/$arch/busybox-$(cache_key "$(basename "$deb")")
  if [ ! -d "$dir" ]; then
    tmp=$(cache_tmp)
    dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; return 1; }
    cache_commit "$tmp" "$dir"
  fi
  cache_used "$dir"
  busybox=$dir/bin/busybox
}

# The image test's userland: Debian 12 arm64 packages resolved by apt-get in a private APT state
# (empty dpkg status, APT::Architecture=arm64, the host's package lists), fetched with
# `apt-get install --download-only` into the cache's image-debs/<debarch>/ (apt reuses what is
# there). image_userland_resolve sets userland_debs (the file names, sorted) without fetching.
image_packages="base-files base-passwd bash dash coreutils sed grep findutils diffutils gzip tar hostname
 perl-base libc-bin util-linux mount login passwd sudo procps iproute2 kmod dpkg usr-is-merged
 systemd systemd-sysv udev libnss-systemd openssh-server"
image_apt() { # ARGS...: apt-get with the private state and the cache's archive
  # (its own binary cache: the one in APT_OPTS is for the host's architecture and dpkg status)
  mkdir -p "$CACHE/apt/image-$debarch" "$CACHE/image-debs/$debarch/partial"
  [ -f "$CACHE/apt/image-$debarch/status" ] || : > "$CACHE/apt/image-$debarch/status"
  apt-get -o Dir::Cache::pkgcache="$CACHE/apt/image-$debarch/pkgcache.bin" -o Dir::Cache::srcpkgcache="" \
    -o APT::Architecture="$debarch" -o APT::Architectures::="$debarch" \
    -o Dir::State::status="$CACHE/apt/image-$debarch/status" \
    -o Dir::State::extended_states="$CACHE/apt/image-$debarch/extended_states" \
    -o Dir::Cache::archives="$CACHE/image-debs/$debarch/" -o Debug::NoLocking=1 \
    -o APT::Install-Recommends=false -q "$@"
}
image_userland_resolve() {
  local st
  st=$(cache_tmp); mkdir -p "$st/partial"
  # (an empty archive directory, so that every package is listed)
  # shellcheck disable=SC2086
  userland_debs=$(image_apt install --download-only --print-uris -y -o Dir::Cache::archives="$st/" $image_packages 2>&1 \
    | sed -nE "s/^'[^']*' ([^ ]+\.deb) .*/\1/p" | sort)
  rm -rf "$st"
  [ -n "$userland_debs" ] || { echo "vm: apt cannot resolve the image userland ($debarch)" >&2; return 1; }
}
# image_userland_fetch: the resolved packages into the cache (under a lock; apt fetches only
# what is missing); sets userland_dir (the archive directory)
image_userland_fetch() {
  local st rc=0
  cache_lock "image-debs-$debarch" || return 1
  st=$(cache_tmp)
  # shellcheck disable=SC2086
  image_apt install --download-only -y $image_packages > "$st/apt.log" 2>&1 || { tail -n 20 "$st/apt.log" >&2; rc=1; }
  rm -rf "$st"
  cache_unlock
  userland_dir=$CACHE/image-debs/$debarch
  return $rc
}
