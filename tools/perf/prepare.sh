# tools/perf/prepare.sh — what the benches need, made when missing (sourced by tools/bench and
# tools/e2e-adapt, from the repository's root; each function exits the script on failure).
#   bench_tool         build/bench/benchtool from tools/perf/benchtool.c (gcc -O2, -lopenh264)
#   bench_clip NAME    build/bench/NAME.y4m: 640x480, 30 fps, 160 frames (benchtool gen NAME),
#                      made again whenever the generator changes (its checksum is kept beside it)
#   bench_venv         build/venv-interop with aiortc $AIORTC_VERSION (+ PyAV) from PyPI, as
#                      tools/setup makes it
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
