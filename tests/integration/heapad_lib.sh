# Sourced by the integration scripts: starts a heapad ($heapad) on 127.0.0.1 with an ephemeral
# port and a temporary data directory, stopped and removed on exit (KEEP=1 keeps the
# directory). Sets dir, log, pid and port, and defines:
#   h ARGS...      the heapa command line ($heapa) against it
#   j ARGS...      the same with --json
#   field EXPR     reads JSON on stdin and prints d<EXPR>, e.g. field '["pooled"]'
#   fail TEXT      prints FAIL: TEXT and exits 1
dir=$(mktemp -d)
log="$dir/heapad.out"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

"$heapad" --data-dir "$dir/data" --listen 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
[ -n "$port" ] || { echo "heapad did not start:"; cat "$log"; exit 1; }
h() { "$heapa" --port "$port" "$@"; }
j() { "$heapa" --port "$port" --json "$@"; }
field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
fail() { echo "FAIL: $*"; exit 1; }
