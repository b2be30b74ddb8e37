# tools/perf/prepare.sh — what the benches need, made when missing (sourced by tools/bench and
# tools/e2e-adapt, from the repository's root; each function exits the script on failure).
#   bench_tool         build/bench/benchtool from tools/perf/benchtool.c (gcc -O2, -lopenh264)
#   bench_clip NAME    build/bench/NAME.y4m: 640x480, 30 fps, 160 frames (benchtool gen NAME),
#                      made again whenever the generator changes (its checksum is kept beside it)
#   bench_venv         build/venv-interop with aiortc $AIORTC_VERSION (+ PyAV) from PyPI, as
#                      tools/setup makes it
#   arm_plugin         build/bench/insncount.so from tools/perf/insncount.c, against qemu-plugin.h
#                      from the Debian source package of the installed qemu-user (the header is
#                      kept in the build cache, $CACHE/src/qemu-plugin-h_VERSION)
BENCH_OUT=build/bench
BENCH_TOOL=$BENCH_OUT/benchtool
AIORTC_VERSION=1.16.0
BENCH_VENV=build/venv-interop

bench_tool() {
  mkdir -p "$BENCH_OUT"
  if [ ! -x "$BENCH_TOOL" ] || [ tools/perf/benchtool.c -nt "$BENCH_TOOL" ]; then
    gcc -O2 -Wall -o "$BENCH_TOOL" tools/perf/benchtool.c -lopenh264 -lm \
      || { echo "prepare: gcc could not build $BENCH_TOOL (tools/setup installs gcc and libopenh264-dev)" >&2; exit 1; }
  fi
}

bench_clip() {
  local clip=$1 sum
  bench_tool
  sum=$(sha256sum tools/perf/benchtool.c | cut -c1-16)
  if [ ! -s "$BENCH_OUT/$clip.y4m" ] || [ "$(cat "$BENCH_OUT/$clip.y4m.gen" 2>/dev/null)" != "$sum" ]; then
    echo "prepare: generating $BENCH_OUT/$clip.y4m"
    "$BENCH_TOOL" gen "$clip" "$BENCH_OUT/$clip.y4m" 640 480 30 160 || { echo "prepare: benchtool gen $clip failed" >&2; exit 1; }
    echo "$sum" > "$BENCH_OUT/$clip.y4m.gen"
  fi
}

bench_venv() {
  if ! "$BENCH_VENV/bin/python" -c "import aiortc, sys; sys.exit(aiortc.__version__ != '$AIORTC_VERSION')" 2>/dev/null; then
    echo "prepare: making $BENCH_VENV with aiortc $AIORTC_VERSION"
    rm -rf "$BENCH_VENV"
    /usr/bin/python3 -m venv "$BENCH_VENV" || exit 1
    "$BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check "aiortc==$AIORTC_VERSION" || exit 1
  fi
}

arm_plugin() {
  local qemu_ver header_dir tmp
  command -v qemu-aarch64 >/dev/null && command -v qemu-arm >/dev/null \
    || { echo "prepare: qemu-user (qemu-aarch64, qemu-arm) is missing: run tools/setup" >&2; exit 1; }
  # shellcheck source=tools/lib/cache.sh
  . tools/lib/cache.sh
  qemu_ver=$(dpkg-query -W -f '${source:Version}' qemu-user) || { echo "prepare: dpkg knows no qemu-user" >&2; exit 1; }
  header_dir=$CACHE/src/qemu-plugin-h_${qemu_ver//:/%3a}
  if [ ! -f "$header_dir/qemu-plugin.h" ]; then
    cache_lock "qemu-plugin-h" || exit 1
    if [ ! -f "$header_dir/qemu-plugin.h" ]; then
      echo "prepare: fetching qemu-plugin.h from Debian's qemu $qemu_ver source" >&2
      tmp=$(cache_tmp)
      # only the orig tarball's one header: the plugin API must be the installed qemu's
      if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" source --download-only -q "qemu=$qemu_ver") > "$tmp/download.log" 2>&1 \
        || ! tar -xJf "$tmp"/qemu_*.orig.tar.xz -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h' \
        || ! mv "$tmp"/qemu-[0-9]*/include/qemu/qemu-plugin.h "$tmp/"; then
        cat "$tmp/download.log" >&2; rm -rf "$tmp"; cache_unlock
        echo "prepare: could not get include/qemu/qemu-plugin.h of qemu $qemu_ver" >&2; exit 1
      fi
      rm -rf "$tmp"/qemu-[0-9]* "$tmp"/qemu_* "$tmp/download.log"
      [ -f "$tmp/qemu-plugin.h" ] || { rm -rf "$tmp"; cache_unlock; echo "prepare: qemu-plugin.h went missing" >&2; exit 1; }
      cache_commit "$tmp" "$header_dir" || { cache_unlock; exit 1; }
    fi
    cache_unlock
  fi
  mkdir -p "$BENCH_OUT"
  gcc -shared -fPIC -O2 -Wall -Werror -I "$header_dir" tools/perf/insncount.c -o "$BENCH_OUT/insncount.so" \
    || { echo "prepare: gcc could not build $BENCH_OUT/insncount.so" >&2; exit 1; }
}
