#!/usr/bin/env bash
# Runs the tests N times and prints one line per run (exit status, wall time, pytest's summary) and a total:
# the evidence that a suite passes every time, not once.
#
#   scripts/repeat_tests.sh 5 tests/ros            # five runs of the ROS graph tests in this checkout
#   FRESH=1 scripts/repeat_tests.sh 3              # three runs of .ci/run, each in a fresh clone of HEAD
#
# Fresh clones set up their own .venv (./run does, ~3.5 min) and are removed afterwards; logs are kept
# under ${LOGS:-runs/repeat_tests}.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:?usage: scripts/repeat_tests.sh N [pytest args...]}
shift
logs=$(realpath -m "${LOGS:-runs/repeat_tests}")
mkdir -p "$logs"
passed=0
commit=""
for i in $(seq 1 "$runs"); do
    log="$logs/run_$i.log"
    start=$(date +%s)
    if [[ "${FRESH:-0}" == 1 ]]; then
        clone=$(mktemp -d)
        git clone --quiet "$PWD" "$clone"
        commit=$(git -C "$clone" rev-parse --short HEAD)
        (cd "$clone" && .ci/run "$@") > "$log" 2>&1
        status=$?
        rm -rf "$clone"
    else
        ./run test "$@" > "$log" 2>&1
        status=$?
    fi
    seconds=$(( $(date +%s) - start ))
    summary=$(grep -E "(passed|failed|error)" "$log" | tail -1)
    [[ $status == 0 ]] && passed=$((passed + 1))
    echo "run $i${commit:+ at $commit}: exit $status, ${seconds} s: ${summary}"
done
echo "$passed of $runs runs passed ($(git rev-parse --short HEAD), fresh clones: ${FRESH:-0})"
[[ $passed == "$runs" ]]
