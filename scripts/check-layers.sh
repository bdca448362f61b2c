#!/usr/bin/env bash
# The include check of `make test`: every #include in the library, the public
# headers and the programs against the one layer table, src/layers.txt.
#
#   src/L/...      only its own layer, the layers below it and include/peermesh/;
#                  third-party headers only in their adapter; OS headers only in src/io
#   include/       only "peermesh/..." and system headers; no third-party header
#   programs       (apps/, bench/, examples/, tests/tools/, bindings/) only public
#                  headers and their own, except a `view` folder, which sees its
#                  layer and says "internal view" in each file
#
# Tests (tests/unit, sim, integration, support) and fuzz/ see everything.
# Usage: scripts/check-layers.sh [SOURCE_DIR]   Exit 0 clean, 1 with a list of violations.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
table=src/layers.txt
[ -r "$table" ] || { echo "check-layers: $table not found" >&2; exit 1; }

# Every folder the table speaks of: the layers, and the program folders that exist.
roots=(src include)
read -r -a programs < <(sed 's/#.*//' "$table" | awk '$1 == "programs" { $1 = ""; print }')
for p in "${programs[@]}"; do [ -d "$p" ] && roots+=("$p"); done

files=$(find "${roots[@]}" -name '*.[ch]' -type f | sort)
# "file:line:text" of every include line, the folders of src/, the files that say
# "internal view".
{
  # shellcheck disable=SC2086 # one path a word
  grep -nE '^[[:space:]]*#[[:space:]]*include' $files /dev/null || true
  echo "--src--"
  find src -mindepth 1 -maxdepth 1 -type d | sort
  echo "--internal-view--"
  # shellcheck disable=SC2086
  grep -lie 'internal view' $files /dev/null || true
} | awk -v table="$table" '
function fail(where, why) { print "check-layers: " where ": " why; bad++ }
function under(path, place) { return place ~ /\/$/ ? index(path, place) == 1 : path == place }
function matches(header, h) { return h ~ /\/$/ ? index(header, h) == 1 : header == h }
BEGIN {
  # ---- the table ----
  while ((getline line < table) > 0) {
    sub(/#.*/, "", line)
    if ((n = split(line, w)) == 0) continue
    kind = w[1]
    if (kind == "programs") { for (i = 2; i <= n; i++) if (w[i] != "") program[w[i] "/"] = 1; continue }
    colon = 0
    for (i = 2; i <= n; i++) if (w[i] ~ /:$/) { colon = i; sub(/:$/, "", w[i]); break }
    if (!colon) { fail(table, "no \":\" in \"" line "\""); continue }
    if (kind == "layer") {
      name = w[2]; layer[name] = 1; sees[name, name] = 1
      for (i = colon + 1; i <= n; i++) {
        if (w[i] == "") continue
        if (!(w[i] in layer)) { fail(table, name " builds on " w[i] ", which is not a layer listed above it"); continue }
        for (k in layer) if ((w[i], k) in sees) sees[name, k] = 1
      }
    } else if (kind == "view") {
      view[w[2] "/"] = w[colon + 1]
      if (!(w[colon + 1] in layer)) fail(table, "view " w[2] " sees " w[colon + 1] ", which is not a layer")
    } else if (kind == "adapter" || kind == "os") {
      for (i = 2; i <= colon; i++) {
        if (w[i] == "") continue
        nh++; hdr[nh] = w[i]; hkind[nh] = kind; places[nh] = ""
        for (j = colon + 1; j <= n; j++) if (w[j] != "") places[nh] = places[nh] " " w[j]
      }
    } else fail(table, "unknown line \"" line "\"")
  }
  section = "includes"
}
/^--src--$/ { section = "src"; next }
/^--internal-view--$/ { section = "said"; next }
section == "src" { d = $0; sub(/^src\//, "", d); if (!(d in layer)) fail("src/" d, "not a layer in " table); next }
section == "said" { said[$0] = 1; next }
section == "includes" {
  # file:line:   #include "x/y.h"  or  <x/y.h>
  file = $0; sub(/:.*/, "", file)
  rest = substr($0, length(file) + 2); lineno = rest; sub(/:.*/, "", lineno)
  text = substr(rest, length(lineno) + 2)
  if (!match(text, /["<][^">]+[">]/)) next
  header = substr(text, RSTART + 1, RLENGTH - 2); quoted = substr(text, RSTART, 1) == "\""
  where = file ":" lineno

  # The zone of the including file, and the layers it sees.
  zone = ""; own = ""
  if (file ~ /^src\//) { zone = "layer"; own = file; sub(/^src\//, "", own); sub(/\/.*/, "", own) }
  else if (file ~ /^include\//) zone = "public"
  else {
    for (v in view) if (under(file, v)) { zone = "view"; own = view[v]; viewed[file] = v }
    if (zone == "") for (p in program) if (under(file, p)) zone = "program"
  }
  if (zone == "") next

  if (header ~ /(^|\/)\.\.(\/|$)/) { fail(where, "includes \"" header "\": spell it from its layer, never with .."); next }
  first = header; if (!sub(/\/.*/, "", first)) first = ""
  if (first != "" && first in layer) {
    if (zone == "layer" && !((own, first) in sees))
      fail(where, "src/" own " includes \"" header "\": " first " is not below " own " in " table)
    else if (zone == "view" && !((own, first) in sees))
      fail(where, "includes \"" header "\": its internal view (" own ") does not reach " first)
    else if (zone == "public")
      fail(where, "a public header includes the internal \"" header "\"")
    else if (zone == "program")
      fail(where, "a program includes the internal \"" header "\": programs use include/peermesh/ only (see view in " table ")")
  } else if (zone == "public" && quoted && first != "peermesh")
    fail(where, "a public header includes \"" header "\": only \"peermesh/...\" and system headers")

  for (i = 1; i <= nh; i++) {
    if (!matches(header, hdr[i])) continue
    if (hkind[i] == "os" && zone != "layer") continue
    ok = 0; np = split(places[i], pl, " ")
    for (j = 1; j <= np; j++) if (pl[j] != "" && under(file, pl[j])) ok = 1
    if (!ok) fail(where, "includes <" header ">, which only" places[i] " may include (" table ")")
  }
  next
}
END {
  for (f in viewed) if (!(f in said)) fail(f, "in the internal view " viewed[f] " but does not say \"internal view\" in a comment")
  if (bad) { print "check-layers: " bad " violation(s)"; exit 1 }
  print "check-layers: ok"
}'
