# tools/lib/modules.sh — the Swift modules of Sources/ and their dependencies, read from the one
# place that writes them: Package.swift's `deviceModules` (sourced by tools/build, tools/fuzz,
# tools/alloc-test and tools/module-check). The executable module RTCam comes last.

# device_modules ROOT: one line per module of Package.swift's deviceModules, in its order:
# "NAME DEP DEP..." (the dependencies besides CRTCam). Fails when none is found.
device_modules() {
  local out
  out=$(awk '
    /^let deviceModules/ { inside = 1; next }
    inside && /^\]/ { inside = 0 }
    inside && match($0, /^[[:space:]]*\("[A-Za-z0-9_]+", \[[^]]*\]\)/) {
      line = substr($0, RSTART, RLENGTH)
      gsub(/[()\[\]",]/, " ", line)
      gsub(/[[:space:]]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line)
      print line
    }' "$1/Package.swift")
  [ -n "$out" ] || { echo "modules: no deviceModules found in $1/Package.swift" >&2; return 1; }
  echo "$out"
}

# module_imports ROOT MODULE: the modules MODULE's sources import (any import form), one a line
module_imports() {
  cat "$1"/Sources/"$2"/*.swift 2>/dev/null \
    | sed -nE 's/^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|package|internal|fileprivate|private)[[:space:]]+)?import[[:space:]]+(struct |class |enum |protocol |func |var |let |typealias )?([A-Za-z0-9_]+).*/\5/p' \
    | sort -u
}
