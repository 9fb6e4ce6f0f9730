#!/usr/bin/env bash
# Image-conditioned AFIL policy on transfer cube (issue 15, item 2), on the CPU, in the background.
#
#   nohup scripts/train_vision_tc.sh > /dev/null 2>&1 &     # start, or resume after a stop (same command)
#   tail -f runs/logs/tc_vision.log runs/logs/tc_vision_ft.log
#   cat runs/learn/tc_vision/state.json                     # finished steps; training resumes from last.pt
#
# Two processes, one torch thread each, at nice 19 (they must not starve real-time tests):
#   A  runs/learn/tc_vision     50 expert demos (top + both wrists at 72x96, no object state), 3000 steps at batch
#                               32 (~1 h), then 50 held-out configurations x 3 runs, success head alone; table in
#                               docs/afil_results_vision.md.
#   B  runs/learn/tc_vision_ft  the same demos (same seeds), round 0 continues from A's model for 3000 more steps,
#                               then one AFIL round (30 rollouts, corrections, 1000 fine-tuning steps) and the
#                               evaluation with guidance (static 0.05, adaptive 1 and 2); waits for A's model.
# Every stage is skipped once state.json records it, and training resumes from its last checkpoint (every 250
# steps), so rerunning this script continues where a stopped run left off.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/logs

A=runs/learn/tc_vision
B=runs/learn/tc_vision_ft
COMMON=(--preset sim_transfer_cube --model aloha_vision_cpu --demos 50 --batch-size 32 --train-steps 3000
    --eval-configs 50 --eval-runs 3 --max-steps 400)
learn() { nice -n 19 ./run failforward learn "$@"; }

run_a() {
    learn eval --run-dir "$A" "${COMMON[@]}" --rounds 0
    learn table --run-dir "$A" --out docs/afil_results_vision.md
}

run_b() {
    local opts=(--run-dir "$B" "${COMMON[@]}" --rounds 1 --rollouts 30 --finetune-steps 1000
        --static-lambdas 0.05 --gammas 1 2 --init-model "$A/round_0/model")
    learn collect "${opts[@]}"
    until [ -f "$A/round_0/model/manifest.json" ]; do sleep 60; done
    learn eval "${opts[@]}"
    learn table --run-dir "$B" --out docs/afil_results_vision_ft.md
}

run_a > runs/logs/tc_vision.log 2>&1 &
run_b > runs/logs/tc_vision_ft.log 2>&1 &
wait
