# tools/lib/cache.sh — the build cache outside the clone, sourced by tools/build, tools/fuzz,
# tools/vm-test, tools/image-test, tools/prefetch and tools/setup.
#
# What is kept there is what a clean clone would otherwise fetch or build again: Debian
# packages (.debs of other architectures, kernel packages, the image test's userland), unpacked
# Debian source packages, the C libraries tools/build rebuilds per arch, Embedded Swift module
# objects, fuzz targets, the VM test's kernel trees and v4l2loopback modules, the image test's
# base image, and the aiortc virtualenv. Every entry is named by a key that covers everything it
# was made from (Debian package or source version, build flags, compiler, the recipe's own text),
# so an entry never goes stale: a change makes a new key. The cache may be deleted at any time
# (what is missing is fetched or built again). An entry is made in a temporary directory inside
# the cache and renamed into place when complete, so a reader sees a whole entry or none, and
# concurrent runs never corrupt one; a lock per entry keeps two runs from making it twice.
#
# Where: $RTCAM_CACHE, else /var/cache/rtcam when it can be written, else ~/.cache/rtcam.
# Layout: debs/ (the package files, as apt-get download names them), src/<pkg>_<version>/,
# deps/<arch>/<lib>-<key>/, sysroot/<arch>-<key>/, swift/<arch>/<module>-<key>/,
# fuzz/..., vm/<arch>/..., image/..., venv/..., tmp/ (entries being made), locks/.

cache_root() {
  if [ -n "${RTCAM_CACHE:-}" ]; then
    mkdir -p "$RTCAM_CACHE" || { echo "cache: cannot make RTCAM_CACHE=$RTCAM_CACHE" >&2; return 1; }
    (cd "$RTCAM_CACHE" && pwd)
  elif mkdir -p /var/cache/rtcam 2>/dev/null && [ -w /var/cache/rtcam ]; then
    echo /var/cache/rtcam
  else
    mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}/rtcam" && (cd "${XDG_CACHE_HOME:-$HOME/.cache}/rtcam" && pwd)
  fi
}
CACHE=$(cache_root) || exit 1
mkdir -p "$CACHE/tmp" "$CACHE/locks" "$CACHE/debs"
# cache_sweep_tmp: removes what runs that were killed left half made (nothing takes half a day).
# The age is the creation time in the entry's name (cache_tmp), not its mtime: `dpkg-deb -x` into
# an entry sets the entry's mtime to the package's build date, and a sweep by mtime from a run
# started meanwhile deleted an image staging tree while it was being filled.
cache_sweep_tmp() {
  local d name made cutoff
  cutoff=$(( $(date +%s) - 43200 ))
  for d in "$CACHE"/tmp/*; do
    [ -e "$d" ] || continue
    name=${d##*/}; made=${name%%.*}
    [[ "$made" =~ ^[0-9]+$ ]] || made=0   # not made by cache_tmp: old by definition
    [ "$made" -lt "$cutoff" ] && rm -rf "$d"
  done
  return 0
}
cache_sweep_tmp
export RTCAM_CACHE=$CACHE

# cache_key WORDS...: a 16-hex-digit key of the words (order matters)
cache_key() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# cache_tmp: a new empty directory inside the cache (same file system as the entries, so the
# final rename is atomic); the caller renames it with cache_commit or removes it
cache_tmp() { mktemp -d "$CACHE/tmp/$(date +%s).XXXXXX"; }

# cache_commit TMP FINAL: TMP becomes FINAL in one rename. If another run committed FINAL first,
# that one stays and TMP is removed (both were made from the same inputs).
cache_commit() {
  mkdir -p "$(dirname "$2")"
  if ! mv -T "$1" "$2" 2>/dev/null; then
    [ -e "$2" ] || { echo "cache: cannot rename $1 to $2" >&2; rm -rf "$1"; return 1; }
    rm -rf "$1"
  fi
}

# cache_lock NAME [SECONDS]: waits for the lock NAME (on a new file descriptor, released by
# cache_unlock, last taken first released, or when the shell ends). Bounded: fails after SECONDS
# (default 1800).
CACHE_LOCK_FDS=()
cache_lock() {
  local fd
  exec {fd}> "$CACHE/locks/${1//\//_}.lock"
  flock -w "${2:-1800}" "$fd" || { echo "cache: lock $1 held for ${2:-1800} s" >&2; exec {fd}>&-; return 1; }
  CACHE_LOCK_FDS+=("$fd")
}
cache_unlock() {
  local n=${#CACHE_LOCK_FDS[@]} fd
  [ "$n" -gt 0 ] || return 0
  fd=${CACHE_LOCK_FDS[$((n - 1))]}
  unset "CACHE_LOCK_FDS[$((n - 1))]"
  exec {fd}>&-
}

# Debian packages -------------------------------------------------------------------------------
# apt's binary package cache, kept here: this machine's apt is configured without one
# (Dir::Cache::pkgcache ""), so every apt-cache/apt-get call would parse all package lists again
# (2-5 s each on a loaded 2-core machine; 0.2 s with it). apt checks it against the lists itself.
mkdir -p "$CACHE/apt"
APT_OPTS=(-o "Dir::Cache::pkgcache=$CACHE/apt/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$CACHE/apt/srcpkgcache.bin")

# deb_files PKG[:ARCH][=VERSION]...: the file names `apt-get download` gives the candidates (or
# those versions) of the packages, one a line in the order given, from the local package lists
# (nothing is fetched); fails if apt knows one of them not
deb_files() {
  local out names
  out=$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "$@" 2>/dev/null) || return 1
  names=$(awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2}
    /^$/{ if (p != "") { gsub(/:/, "%3a", v); print p "_" v "_" a ".deb" }; p=""; v=""; a="" }
    END { if (p != "") { gsub(/:/, "%3a", v); print p "_" v "_" a ".deb" } }' <<<"$out")
  [ "$(wc -l <<<"$names")" = $# ] || return 1
  echo "$names"
}

# deb_fetch PKG[:ARCH][=VERSION]...: the packages' .deb files in $CACHE/debs (downloaded with
# `apt-get download` when missing; after a failed download the package lists are refreshed by
# tools/setup and it is tried once more). Prints their paths, one a line, in the order given.
deb_fetch() {
  local root_dir names=() missing=() missing_names=() i f tmp rc=0
  root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mapfile -t names < <(deb_files "$@") 
  if [ ${#names[@]} != $# ]; then
    tools_setup_refresh "$root_dir"
    mapfile -t names < <(deb_files "$@")
    [ ${#names[@]} = $# ] || { echo "cache: apt knows not all of: $*" >&2; return 1; }
  fi
  local args=("$@")
  for i in "${!names[@]}"; do
    [ -f "$CACHE/debs/${names[$i]}" ] || { missing+=("${args[$i]}"); missing_names+=("${names[$i]}"); }
  done
  if [ ${#missing[@]} -gt 0 ]; then
    # one lock per package file, taken in name order: a run that finds another downloading the
    # same file waits for it instead of downloading it again
    local sorted still=() still_names=()
    mapfile -t sorted < <(printf '%s\n' "${missing_names[@]}" | sort -u)
    for f in "${sorted[@]}"; do cache_lock "deb-$f" || return 1; done
    for i in "${!missing[@]}"; do
      [ -f "$CACHE/debs/${missing_names[$i]}" ] || { still+=("${missing[$i]}"); still_names+=("${missing_names[$i]}"); }
    done
    if [ ${#still[@]} -gt 0 ]; then
      tmp=$(cache_tmp)
      if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" download -q "${still[@]}") > "$tmp/download.log" 2>&1; then
        echo "cache: apt-get download ${still[*]} failed ($(grep -m1 '^E:' "$tmp/download.log")); refreshing the package lists" >&2
        tools_setup_refresh "$root_dir"
        (cd "$tmp" && apt-get "${APT_OPTS[@]}" download -q "${still[@]}") > "$tmp/download.log" 2>&1 || { cat "$tmp/download.log" >&2; rc=1; }
      fi
      if [ "$rc" = 0 ]; then
        grep -E '^Get:' "$tmp/download.log" | sed 's/^/  /' >&2 || true
        for f in "${still_names[@]}"; do
          if [ -f "$tmp/$f" ]; then mv "$tmp/$f" "$CACHE/debs/$f"
          else echo "cache: apt-get download did not write $f" >&2; rc=1; fi
        done
      fi
      rm -rf "$tmp"
    fi
    for f in "${sorted[@]}"; do cache_unlock; done
    [ "$rc" = 0 ] || return 1
  fi
  for f in "${names[@]}"; do cache_used "$CACHE/debs/$f"; echo "$CACHE/debs/$f"; done
}

# tools_setup_refresh ROOT: apt-get update through tools/setup (retries, a failing index
# skipped when every needed package is still available); output to stderr
tools_setup_refresh() { "$1/tools/setup" --apt-only --refresh >&2 || true; }

# src_version PKG: the Debian version of source package PKG that `apt-get source` would fetch,
# as its .dsc file is named (without an epoch: 2.1.5-2 for libjpeg-turbo 1:2.1.5-2)
src_version() {
  apt-get "${APT_OPTS[@]}" source --print-uris "$1" 2>/dev/null | sed -nE "s/^'[^']*' ${1}_(.*)\.dsc .*/\1/p" | head -n 1
}

# src_fetch PKG: the unpacked Debian source package PKG (the version `apt-get source` picks) in
# $CACHE/src/PKG_VERSION/; prints the directory of the tree (e.g. .../mbedtls-2.28.3)
src_fetch() {
  local pkg=$1 ver dir tmp root_dir
  root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  ver=$(src_version "$pkg")
  [ -n "$ver" ] || { tools_setup_refresh "$root_dir"; ver=$(src_version "$pkg"); }
  [ -n "$ver" ] || { echo "cache: apt knows no source package $pkg (tools/setup adds a deb-src entry)" >&2; return 1; }
  dir=$CACHE/src/${pkg}_${ver//:/%3a}
  if [ ! -d "$dir" ]; then
    cache_lock "src-$pkg" || return 1
    if [ ! -d "$dir" ]; then
      echo "cache: fetching Debian's $pkg $ver source package" >&2
      tmp=$(cache_tmp)
      (cd "$tmp" && apt-get "${APT_OPTS[@]}" source -q "$pkg") > "$tmp/download.log" 2>&1 \
        || { cat "$tmp/download.log" >&2; rm -rf "$tmp"; cache_unlock; return 1; }
      # (the version is not pinned: apt-get source VERSION wants the epoch, which .dsc names lack;
      # unpinned it fetches the candidate, the one src_version named)
      ls "$tmp/${pkg}_${ver}.dsc" >/dev/null 2>&1 \
        || { echo "cache: apt-get source $pkg fetched $(ls "$tmp"/*.dsc 2>/dev/null | xargs -n1 basename), not ${pkg}_${ver}.dsc" >&2; rm -rf "$tmp"; cache_unlock; return 1; }
      rm -f "$tmp"/*.dsc "$tmp"/*.tar.* "$tmp"/*.diff.gz
      cache_commit "$tmp" "$dir" || { cache_unlock; return 1; }
    fi
    cache_unlock
  fi
  local tree
  cache_used "$dir"
  tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -n "$tree" ] || { echo "cache: $dir holds no source tree" >&2; return 1; }
  echo "$tree"
}

# cache_used ENTRY...: marks entries as used now (their mtime), for cache_prune
cache_used() { touch -c "$@" 2>/dev/null || true; }

# cache_prune DAYS: removes the entries not used for DAYS days (the cache only grows otherwise:
# every change of a source makes new keys). Entries in use are never that old.
cache_prune() {
  local days=$1
  [[ $days =~ ^[0-9]+$ ]] || return 0
  find "$CACHE/debs" "$CACHE/image-debs" -type f -name '*.deb' -mtime +"$days" -delete 2>/dev/null || true
  find "$CACHE/src" "$CACHE/venv" -mindepth 1 -maxdepth 1 -mtime +"$days" -exec rm -rf {} + 2>/dev/null || true
  find "$CACHE/deps" "$CACHE/swift" "$CACHE/shim" "$CACHE/vm" "$CACHE/image" \
    -mindepth 2 -maxdepth 2 -mtime +"$days" -exec rm -rf {} + 2>/dev/null || true
  find "$CACHE/sysroot" -mindepth 1 -maxdepth 1 -mtime +"$days" -exec rm -rf {} + 2>/dev/null || true
  find "$CACHE/fuzz" -mindepth 2 -maxdepth 2 -mtime +"$days" -exec rm -rf {} + 2>/dev/null || true
  # (a lock file is rewritten, so its time renewed, each time it is taken)
  find "$CACHE/locks" -type f -mtime +"$days" -delete 2>/dev/null || true
}

# cache_link TARGET LINK: LINK (in the clone's build/) points at TARGET (in the cache)
cache_link() {
  mkdir -p "$(dirname "$2")"
  [ "$(readlink "$2" 2>/dev/null)" = "$1" ] && return 0
  rm -rf "$2"
  ln -s "$1" "$2"
}
