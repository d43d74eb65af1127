#!/usr/bin/env bash
# Regenerates the key tables of docs/config.md from the programs' own schemas (the text
# between the "generated" markers); run after changing a schema: scripts/update_config_docs.sh build
set -euo pipefail
build=${1:-build}
doc=docs/config.md
replace() {  # marker, command
  local table
  table=$("${@:2}")
  /usr/bin/python3 - "$doc" "$1" "$table" <<'PY'
import sys
path, marker, table = sys.argv[1:]
text = open(path).read()
begin, end = f"<!-- generated: {marker} -->", f"<!-- end generated: {marker} -->"
head, rest = text.split(begin)
_, tail = rest.split(end)
open(path, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
PY
}
replace wna_mpi "$build/wna_mpi" --print-config-markdown
replace wna_train "$build/wna_train" --print-config-markdown
echo "updated $doc"
