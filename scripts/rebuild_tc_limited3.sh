#!/usr/bin/env bash
# Rebuild the `tc_limited3` run (issue 17, item 2) up to its round-0 corrections, with the README's flags:
# tc_limited2's base (100 demos, 2000 steps), 2000 more steps on its demos, then 500 more with rollouts and corrections.
# Each step resumes or is skipped when done. Then bench/correction_round.py runs on runs/learn/tc_limited3.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
./run failforward learn train --run-dir runs/learn/tc_limited2 --preset sim_transfer_cube --object-state --demos 100 \
    --demo-seed 0 --train-steps 2000 --finetune-steps 1000 --batch-size 64 --rounds 1 --rollouts 250 \
    --eval-configs 50 --eval-runs 3 --static-lambdas 0.05 --gammas 0.5 1 2 5
[[ -f runs/learn/tc_limited2_more/model/manifest.json ]] || ./run failforward learn recorded runs/learn/tc_limited2/demos \
    --out runs/learn/tc_limited2_more --init-model runs/learn/tc_limited2/round_0/model --steps 2000 --batch-size 64 --seed 1
./run failforward learn correct --run-dir runs/learn/tc_limited3 --preset sim_transfer_cube --object-state --demos 100 \
    --demo-seed 0 --init-model runs/learn/tc_limited2_more/model --train-steps 500 --batch-size 64 --rounds 1 \
    --finetune-steps 1000 --rollouts 250 --eval-configs 50 --eval-runs 3 --static-lambdas 0.05 --gammas 0.5 1 2 5
