#!/usr/bin/env bash
# Image-conditioned AFIL policy that sees the supervisor's symbols (issue 15, item 3), on the CPU, in the background.
#
#   nohup scripts/train_vision_tc_sym.sh > /dev/null 2>&1 &
#   tail -f runs/logs/tc_vision_sym.log; cat runs/learn/tc_vision_sym/state.json
#
# runs/learn/tc_vision_sym is scripts/train_vision_tc_aux.sh run A (50 expert demos, seeds 0-49, batch 32, training
# seed 0, random shift 4 px, the training-only cube-position loss) with three changes: the text encoder is
# all-MiniLM-L6-v2 (model aloha_vision_cpu_minilm), 150 symbol-following episodes (`failforward learn symbols`,
# seeds 50000-50149: an expert prelude, then one atomic corrective motion planned with PMC) are recorded with the
# policy's three cameras and the followed ones train the success head through the VSF view (symbols drawn on the
# top image, everything outside their ROI zeroed, the idle arm's wrist image zeroed; prompt = the correction's
# sentence), and 3000 training steps instead of 2500 (the symbol ticks add ~40 % to the data).
# The closed-loop benchmark then runs it alone, with VSF and with PMC (bench/recovery_benchmark.py afil_vision*).
# One process, one torch thread, nice 19; every stage resumes (state.json, checkpoints every 250 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/logs
DIR=runs/learn/tc_vision_sym
CONFIG=(--preset sim_transfer_cube --model aloha_vision_cpu_minilm --demos 50 --batch-size 32 --rounds 0
    --max-steps 400 --train-steps 3000 --object-aux-weight 1.0 --symbol-episodes 150)
nice -n 19 ./run failforward learn train --run-dir "$DIR" "${CONFIG[@]}" >> runs/logs/tc_vision_sym.log 2>&1
