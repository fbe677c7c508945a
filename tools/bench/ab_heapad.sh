#!/usr/bin/env bash
# A/B of heapad builds over loopback, alternated, with heapad's CPU and context switches per
# report (more stable on the shared 2-core machine than throughput alone).
#
#   tools/bench/ab_heapad.sh ROUNDS BUILD_DIR... -- HEAPA_BENCH_ARGS...
#
# Each round runs every BUILD_DIR in turn: a fresh BUILD_DIR/tools/heapad on 127.0.0.1 (a port
# from 7500-7899, a temporary data directory), then BUILD_DIR/tools/heapa-bench --target heapad
# with the given arguments. It prints the bench's result lines (fill, report, Sample(1), step)
# and, when the arguments include the report benchmark, heapad's CPU time and context switches
# per report over the report phase (read from /proc at the end of the fill and of the report
# phase; the bench process's CPU too). Example, the pipelined reports of session 14-15:
#
#   git worktree add /tmp/old REV && cmake -S /tmp/old -B /tmp/old/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo && ninja -C /tmp/old/build tools/heapad tools/heapa-bench
#   tools/bench/ab_heapad.sh 3 /tmp/old/build build -- --benchmarks fill,report \
#     --pool-size 400000 --seconds 5 --pipeline 16
set -euo pipefail
rounds=$1
shift
dirs=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  dirs+=("$1")
  shift
done
[ "$#" -gt 0 ] && shift
if [ "${#dirs[@]}" -eq 0 ]; then
  echo "usage: $0 ROUNDS BUILD_DIR... -- HEAPA_BENCH_ARGS..." >&2
  exit 2
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' /proc/"$1"/task/*/status 2>/dev/null; }

run_one() {  # build_dir
  local dir=$1 port=$((7500 + RANDOM % 400)) data
  shift
  data=$(mktemp -d)
  "$dir/tools/heapad" --data-dir "$data" --listen "127.0.0.1:$port" >"$data.log" 2>&1 &
  local heapad=$!
  sleep 1
  local bench_pid="" c0="" t0="" b0="" reports=""
  while IFS= read -r line; do
    case "$line" in
      "fill "*)
        bench_pid=$(pgrep -n -f "tools/heapa-bench --target heapad --port $port" || true)
        c0=$(switches "$heapad")
        t0=$(cpu_ticks "$heapad")
        [ -n "$bench_pid" ] && b0=$(cpu_ticks "$bench_pid")
        echo "  $line"
        ;;
      "report "*)
        local c1 t1 b1="" n
        c1=$(switches "$heapad")
        t1=$(cpu_ticks "$heapad")
        [ -n "$bench_pid" ] && b1=$(cpu_ticks "$bench_pid" 2>/dev/null || true)
        reports=$(echo "$line" | grep -o '[0-9]* single-report requests' | cut -d' ' -f1)
        echo "  $line"
        if [ -n "$reports" ] && [ "$reports" -gt 0 ]; then
          n=$reports
          # One tick is 10 ms (USER_HZ 100).
          echo "  heapad: $(((t1 - t0) * 10000000 / n)) ns CPU and $(((c1 - c0) * 1000 / n)) context switches per 1000 reports" \
            "${b1:+| bench: $(((b1 - b0) * 10000000 / n)) ns CPU per report}"
        fi
        ;;
      *"Sample(1) "* | *"Report(1)"* | "  step "* | *"of which"*) echo "  $line" ;;
    esac
  done < <(stdbuf -oL "$dir/tools/heapa-bench" --target heapad --port "$port" "$@" 2>&1)
  kill "$heapad"
  wait "$heapad" 2>/dev/null || true
  rm -rf "$data" "$data.log"
}

for round in $(seq "$rounds"); do
  for dir in "${dirs[@]}"; do
    echo "round $round: $dir"
    run_one "$dir" "$@"
  done
done
