#!/usr/bin/env bash
# Image-conditioned AFIL policy on transfer cube with the training-only object-position auxiliary loss
# (issue 15, item 2; docs/vision_policy.md), on the CPU, in the background.
#
#   nohup scripts/train_vision_tc_aux.sh quick > /dev/null 2>&1 &   # collect, train, 20 configs x 1 run
#   nohup scripts/train_vision_tc_aux.sh full  > /dev/null 2>&1 &   # then the 50 x 3 protocol (same run dir)
#   tail -f runs/logs/tc_vision_aux.log; cat runs/learn/tc_vision_aux/state.json
#
# Everything as scripts/train_vision_tc.sh run A (50 expert demos, seeds 0-49, 2500 steps at batch 32, training
# seed 0, random shift 4 px) but for one change: the demos also record the cube's pose (world frame) and training
# adds object_aux_weight x the MSE of a small head that regresses the cube's normalized xyz from the three camera
# tokens (learn.object_aux). The head is not exported; the model reads joints, cameras and the prompt only.
# One process, one torch thread, nice 19. Every stage is skipped once state.json records it and training resumes
# from its last checkpoint (every 250 steps), so rerunning the same command continues where a stopped run left off.
# `quick` evaluates 20 held-out configurations x 1 run (eval_configs/eval_runs may change on a run); `full` the
# 50 x 3 protocol of the other tables; each writes docs/afil_results_vision_aux.md (generated).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/logs
DIR=runs/learn/tc_vision_aux
CONFIG=(--preset sim_transfer_cube --model aloha_vision_cpu --demos 50 --batch-size 32 --rounds 0
    --max-steps 400 --train-steps 2500 --object-aux-weight 1.0)
case "${1:-quick}" in
    quick) EVAL=(--eval-configs 20 --eval-runs 1) ;;
    full) EVAL=(--eval-configs 50 --eval-runs 3) ;;
    *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac
{
    nice -n 19 ./run failforward learn eval --run-dir "$DIR" "${CONFIG[@]}" "${EVAL[@]}"
    nice -n 19 ./run failforward learn table --run-dir "$DIR" --out docs/afil_results_vision_aux.md
} >> runs/logs/tc_vision_aux.log 2>&1
