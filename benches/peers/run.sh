#!/usr/bin/env bash
# Peer comparison of differential-privacy SQL: cleanroom vs SmartNoise SQL on the same Parquet
# files (see benches/peers/README.md). Run from the repository root:
#
#   bash benches/peers/run.sh                                   # target/release/cleanroom
#   CLEANROOM=target/debug/cleanroom ROWS=100000 RUNS=20 bash benches/peers/run.sh
#
# Environment: CLEANROOM (default target/release/cleanroom), ROWS (100000), RUNS (20),
# SEED (20260211), PEERS_VENV (target/peers-venv), PEERS_DATA (target/peers-data-$ROWS),
# OUT (target/peers.md), TODAY (optional: passed to `cleanroom query --today`).
# Relative paths are taken from the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

CLEANROOM="${CLEANROOM:-target/release/cleanroom}"
ROWS="${ROWS:-100000}"
RUNS="${RUNS:-20}"
SEED="${SEED:-20260211}"
PEERS_VENV="${PEERS_VENV:-target/peers-venv}"
PEERS_DATA="${PEERS_DATA:-target/peers-data-$ROWS}"
OUT="${OUT:-target/peers.md}"
TODAY="${TODAY:-}"
here="benches/peers"

if [[ ! -x "$CLEANROOM" ]]; then
    echo "run.sh: no cleanroom binary at \`$CLEANROOM\`." >&2
    echo "Build it first with \`cargo build --release\` (or point CLEANROOM at a binary," >&2
    echo "e.g. CLEANROOM=target/debug/cleanroom after \`cargo build\`)." >&2
    exit 1
fi

# Python venv with pinned versions; reinstalled only when requirements.txt changes.
if [[ ! -x "$PEERS_VENV/bin/python" ]]; then
    echo "run.sh: creating the venv $PEERS_VENV" >&2
    python3 -m venv "$PEERS_VENV"
fi
stamp="$PEERS_VENV/.peers-requirements"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "run.sh: installing $here/requirements.txt into $PEERS_VENV" >&2
    "$PEERS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

# Demo data, made once per row count with the cleanroom binary.
if [[ ! -f "$PEERS_DATA/residents.parquet" || ! -f "$PEERS_DATA/social_insurance.parquet" ]]; then
    echo "run.sh: generating $ROWS demo rows into $PEERS_DATA" >&2
    gen_state="$(mktemp -d)"
    "$CLEANROOM" demo generate --rows "$ROWS" --seed "$SEED" --policies policies \
        --state "$gen_state" --out "$PEERS_DATA"
    rm -rf "$gen_state"
fi

# The command as a reader would type it, for the report's header.
cmd="CLEANROOM=$(printf %q "$CLEANROOM") ROWS=$ROWS RUNS=$RUNS PEERS_DATA=$(printf %q "$PEERS_DATA")"
[[ -n "$TODAY" ]] && cmd+=" TODAY=$TODAY"
cmd+=" bash $here/run.sh"

args=(--cleanroom "$CLEANROOM" --data "$PEERS_DATA" --policies policies --runs "$RUNS"
      --out "$OUT" --command "$cmd")
[[ -n "$TODAY" ]] && args+=(--today "$TODAY")

exec "$PEERS_VENV/bin/python" "$here/compare.py" "${args[@]}"
