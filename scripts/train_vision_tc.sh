#!/usr/bin/env bash
# Image-conditioned AFIL policy on transfer cube (issue 15, item 2), on the CPU, in the background.
#
#   nohup scripts/train_vision_tc.sh > /dev/null 2>&1 &     # start, or resume after a stop (same command)
#   tail -f runs/logs/tc_vision.log runs/logs/tc_vision_6k.log
#   cat runs/learn/tc_vision/state.json                     # finished steps; training resumes from last.pt
#
# Two processes, one torch thread each, at nice 19 (they must not starve real-time tests). Both collect the same
# 50 expert demos (same seeds; top + both wrists at 72x96, no object state), train at batch 32 and evaluate the
# success head on 50 held-out configurations x 3 runs (the seeds of the state model's evaluation):
#   A  runs/learn/tc_vision      2500 steps (~1 h on a loaded core): a number within one session.
#   B  runs/learn/tc_vision_6k   6000 steps, training seed 1 (~2 h): what more CPU buys.
# Tables: docs/afil_results_vision.md, docs/afil_results_vision_6k.md. Every stage is skipped once state.json
# records it, and training resumes from its last checkpoint (every 250 steps), so rerunning this script
# continues where a stopped run left off.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/logs

COMMON=(--preset sim_transfer_cube --model aloha_vision_cpu --demos 50 --batch-size 32 --rounds 0
    --eval-configs 50 --eval-runs 3 --max-steps 400)

# learn_run <run dir> <table> <options>: collect, train, evaluate (each resumes), then the table
learn_run() {
    local dir=$1 table=$2
    shift 2
    nice -n 19 ./run failforward learn eval --run-dir "$dir" "${COMMON[@]}" "$@"
    nice -n 19 ./run failforward learn table --run-dir "$dir" --out "$table"
}

learn_run runs/learn/tc_vision docs/afil_results_vision.md --train-steps 2500 > runs/logs/tc_vision.log 2>&1 &
learn_run runs/learn/tc_vision_6k docs/afil_results_vision_6k.md --train-steps 6000 --seed 1 > runs/logs/tc_vision_6k.log 2>&1 &
wait
