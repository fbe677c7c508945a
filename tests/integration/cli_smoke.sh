#!/usr/bin/env bash
# Every verb of the `heapa` command line against a real heapad on 127.0.0.1 (ephemeral port,
# temporary data directory). Usage: cli_smoke.sh HEAPAD HEAPA
set -euo pipefail
heapad=$1
heapa=$2
# shellcheck source=heapad_lib.sh
source "$(dirname "$0")/heapad_lib.sh"

h create math --max-size 1000 --refresh child
[ "$(j pools | field '[0]')" = math ] || fail pools
[ "$(j config math | field '["max_size"]')" = 1000 ] || fail config
printf '%s\n' '{"prompt": "1+1?", "answer": "2"}' 'not json' \
  '{"prompt": [{"role": "user", "content": "2+2?"}], "reward_model": {"ground_truth": "4"}}' \
  >"$dir/rows.jsonl"
h insert math --file "$dir/rows.jsonl" 2>"$dir/insert.err" || fail insert
grep -q "rows.jsonl:2" "$dir/insert.err" || fail "bad line not reported by number"
if h insert math --file "$dir/rows.jsonl" --strict 2>/dev/null; then fail "--strict accepted a bad line"; fi
h insert math --prompt "3+3?" --answer 6 --reward 0.5
sample=$(j sample math --count 2)
id=$(echo "$sample" | field '[0]["id"]')
lease=$(echo "$sample" | field '[0]["lease"]')
[ "$(j report math "$id" "$lease" 1 -1 1 | field '["outcome"]')" = applied ] || fail report
[ "$(j report math "$id" "$lease" 1 -1 1 | field '["outcome"]')" = duplicate ] || fail "report twice"
[ "$(j get math "$id" | field '["state"]')" = ARCHIVED ] || fail get
kid=$(j child math --parent "$id" --prompt "a child" --difficulty 1.25 | field '["id"]')
h validate math "$kid" --accept --answer 8
[ "$(j lineage math "$kid" | field '["parents"][0]')" = "$id" ] || fail lineage
j refresh math >/dev/null
h recover math
h reinsert math
[ "$(j stats math | field '["pooled"]')" -ge 3 ] || fail stats
[ "$(j stats math | field '["stats_bytes"]')" -ge 1 ] || fail "stats: memory of the statistics"
[ "$(j stats math | field '["commit"]["writes"]')" -ge 1 ] || fail "stats: group commit counters"
h checkpoint math t1
before=$(j digest math | field '["digest"]')
h insert math --prompt "4+4?"
[ "$(j digest math | field '["digest"]')" != "$before" ] || fail "digest did not move"
[ "$(j checkpoints math | field '[0]["tag"]')" = t1 ] || fail checkpoints
h restore math t1
[ "$(j digest math | field '["digest"]')" = "$before" ] || fail restore
h fork math copy --tag t1
[ "$(j digest copy | field '["digest"]')" = "$before" ] || fail fork
h drop copy
[ "$(j verify math | field '["index"]')" = "matches storage" ] || fail verify
set +e
h get math 99999 2>/dev/null; [ $? -eq 3 ] || fail "unknown id should exit 3"
h stats nosuchpool 2>/dev/null; [ $? -eq 3 ] || fail "unknown pool should exit 3"
# A negative number for an unsigned argument is a usage error (CLI11 alone wraps it around).
h create neg --max-size -5 2>/dev/null; [ $? -eq 2 ] || fail "--max-size -5 should exit 2"
h get math -1 2>/dev/null; [ $? -eq 2 ] || fail "id -1 should exit 2"
h report math "$id" -7 1 2>/dev/null; [ $? -eq 2 ] || fail "lease -7 should exit 2"
h child math --parent -2 --prompt x 2>/dev/null; [ $? -eq 2 ] || fail "--parent -2 should exit 2"
"$heapa" --port 1 --timeout-ms 500 pools 2>/dev/null; [ $? -eq 5 ] || fail "no daemon should exit 5"
set -e
kill -TERM "$pid"
wait "$pid" || fail "heapad did not exit cleanly on SIGTERM"
pid=
# A request that may or may not have been applied exits 6: a heapad whose admin requests fail
# after they publish (a test failpoint).
HEAPA_FAILPOINTS=admin.after_publish=error "$heapad" --data-dir "$dir/data2" \
  --listen 127.0.0.1:0 >"$dir/heapad2.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/heapad2.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/heapad2.out")
[ -n "$port" ] || { echo "the second heapad did not start:"; cat "$dir/heapad2.out"; exit 1; }
set +e
h create unsure 2>/dev/null; [ $? -eq 6 ] || fail "an unknown outcome should exit 6"
set -e
kill -TERM "$pid"
wait "$pid" || fail "the second heapad did not exit cleanly on SIGTERM"
pid=
echo "cli smoke: all verbs passed"
