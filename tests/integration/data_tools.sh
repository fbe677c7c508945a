#!/usr/bin/env bash
# heapa import/export, heapa-dump and heapa-check against a real heapad (127.0.0.1, ephemeral
# port, temporary data directory); dump and check run next to the live daemon, then after it
# stopped. Usage: data_tools.sh HEAPAD HEAPA HEAPA_DUMP HEAPA_CHECK SAMPLE.jsonl
set -euo pipefail
heapad=$1
heapa=$2
dump=$3
check=$4
sample=$5
# shellcheck source=heapad_lib.sh
source "$(dirname "$0")/heapad_lib.sh"
rows=$(grep -c . "$sample")

h create math --max-size 100000 --refresh child

# Import, then import again: the second adds nothing.
out=$(j import --pool math "$sample")
[ "$(echo "$out" | field '["added"]')" = "$rows" ] || fail "import added: $out"
[ "$(echo "$out" | field '["rejected_count"]')" = 0 ] || fail "import rejected: $out"
out=$(j import --pool math "$sample")
[ "$(echo "$out" | field '["added"]')" = 0 ] || fail "re-import added: $out"
[ "$(echo "$out" | field '["duplicates"]')" = "$rows" ] || fail "re-import duplicates: $out"

# Small batches, pipelined: every row once, in the file's order.
h create piped
out=$(j import --pool piped --batch 3 --pipeline 2 "$sample")
[ "$(echo "$out" | field '["added"]')" = "$rows" ] || fail "pipelined import added: $out"
out=$(j import --pool piped --batch 2 --pipeline 3 "$sample")
[ "$(echo "$out" | field '["duplicates"]')" = "$rows" ] || fail "pipelined re-import: $out"
h export piped -o "$dir/piped.jsonl" >/dev/null
/usr/bin/python3 - "$sample" "$dir/piped.jsonl" <<'PY' || fail "pipelined import changed the order"
import json, sys
want = [json.loads(l)["prompt"] for l in open(sys.argv[1]) if l.strip()]
got = [json.loads(l)["prompt"] for l in open(sys.argv[2]) if l.strip()]
assert got == want, (got[:3], want[:3])
PY
h drop piped >/dev/null

# Bad lines are reported one by one with their numbers; --strict refuses the file.
{
  echo '{"prompt": "What is 1 + 100?", "reward_model": {"ground_truth": "101"}}'
  echo 'not json'
  echo ''
  echo '{"reward_model": {"ground_truth": "3"}}'
  echo '{"prompt": "What is 2 + 100?"}'
  echo '{"prompt": "What is 3 + 100?", "reward_model": {"ground_truth": "103"}, "extra_info": 7}'
  echo '{"prompt": [{"role": "user", "content": "What is 4 + 100?"}], "reward_model": {"ground_truth": 104}}'
} >"$dir/bad.jsonl"
out=$(j import --pool math "$dir/bad.jsonl" 2>"$dir/bad.err")
[ "$(echo "$out" | field '["added"]')" = 2 ] || fail "bad file added: $out"
[ "$(echo "$out" | field '["rejected_count"]')" = 4 ] || fail "bad file rejected: $out"
lines=$(echo "$out" | /usr/bin/python3 -c "import json,sys; print(' '.join(str(r['line']) for r in json.load(sys.stdin)['rejected']))")
[ "$lines" = "2 4 5 6" ] || fail "rejected lines are '$lines'"
for n in 2 4 5 6; do grep -q "bad.jsonl:$n:" "$dir/bad.err" || fail "line $n not on stderr"; done
if h import --pool math --strict "$dir/bad.jsonl" >/dev/null 2>"$dir/strict.err"; then
  fail "--strict accepted bad lines"
fi
grep -q "bad.jsonl:2" "$dir/strict.err" || fail "--strict did not name line 2"
total=$((rows + 2))
[ "$(j stats math | field '["pooled"]')" = "$total" ] || fail "pool size after imports"

# Some training, and a child, so that statistics and lineage exist.
sample_out=$(j sample math --count 4)
id=$(echo "$sample_out" | field '[0]["id"]')
lease=$(echo "$sample_out" | field '[0]["lease"]')
h report math "$id" "$lease" 1 0 1 1 >/dev/null
kid=$(j child math --parent "$id" --prompt "What is 8 + 8 + 1?" --answer 17 --difficulty 1.5 | field '["id"]')
h validate math "$kid" --accept >/dev/null

# Dump and check next to the live daemon.
data="$dir/data"
"$check" "$data" >"$dir/check.out" || { cat "$dir/check.out"; fail "heapa-check on a live pool"; }
grep -q "pool math: clean" "$dir/check.out" || fail "check verdict"
n=$("$dump" "$data" --pool math queries --no-content | wc -l)
[ "$n" = $((total + 1)) ] || fail "dump listed $n queries"
n=$("$dump" "$data" queries --state ARCHIVED | wc -l)
[ "$n" = 1 ] || fail "dump --state ARCHIVED listed $n"
"$dump" "$data" queries --ids "$id,$kid" --no-content | grep -q "\"id\":$kid" || fail "dump --ids"
"$dump" "$data" lineage >"$dir/lineage.dot"
grep -q "q$id -> q$kid" "$dir/lineage.dot" || fail "lineage edge missing"
if command -v dot >/dev/null; then dot -Tsvg "$dir/lineage.dot" -o "$dir/lineage.svg" || fail "dot"; fi
"$dump" "$data" summary | grep -q "^queries      $((total + 1))" || fail "summary"
h insert math --prompt "after the dump" --answer x >/dev/null || fail "daemon blocked by the tools"

# Export, and import the export: same pool adds nothing, a new pool gets every row back.
h export math -o "$dir/export.jsonl" >/dev/null
[ "$(grep -c . "$dir/export.jsonl")" = $((total + 2)) ] || fail "export rows: $(grep -c . "$dir/export.jsonl")"
/usr/bin/python3 - "$sample" "$dir/export.jsonl" <<'PY' || fail "export does not round-trip the sample's rows"
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
out = {json.dumps(r["prompt"]): r for r in map(json.loads, open(sys.argv[2]))}
for row in src:
    got = out[json.dumps(row["prompt"])]
    for k in ("data_source", "ability", "reward_model", "extra_info"):
        assert got[k] == row[k], (k, got[k], row[k])
    assert "stats" in got["heapa"] and "state" in got["heapa"]
PY
[ "$(j import --pool math "$dir/export.jsonl" | field '["added"]')" = 0 ] || fail "export re-import"
h create copy
[ "$(j import --pool copy "$dir/export.jsonl" | field '["added"]')" = $((total + 2)) ] ||
  fail "export into a new pool"

# Stopped: the same tools, and the exit code of a clean check.
kill -TERM "$pid"; wait "$pid" || true; pid=
"$check" "$data" >/dev/null || fail "heapa-check after stop"
"$check" "$data" --pool copy --json | field '["pools"][0]["clean"]' | grep -q True || fail "check --json"
set +e
"$check" "$dir/nothing-here" 2>/dev/null; [ $? -eq 4 ] || fail "check of no pool should exit 4"
"$dump" "$data" 2>/dev/null; [ $? -eq 2 ] || fail "dump of two pools without --pool should exit 2"
set -e
echo "data tools: OK"
