#!/usr/bin/env bash
# Image-conditioned AFIL policy on transfer cube with the training-only object-position auxiliary loss
# (issue 15, item 2; docs/vision_policy.md), on the CPU, in the background.
#
#   nohup scripts/train_vision_tc_aux.sh quick > /dev/null 2>&1 &          # A: collect, train, 20 configs x 1 run
#   nohup scripts/train_vision_tc_aux.sh full > /dev/null 2>&1 &           # A: the 50 x 3 protocol (same run dir)
#   SHIFT=1 nohup scripts/train_vision_tc_aux.sh quick > /dev/null 2>&1 &  # B: random shift of 1 px instead of 4
#   tail -f runs/logs/tc_vision_aux.log; cat runs/learn/tc_vision_aux/state.json
#
# A (runs/learn/tc_vision_aux) is scripts/train_vision_tc.sh run A (50 expert demos, seeds 0-49, 2500 steps at
# batch 32, training seed 0, random shift 4 px) with one change: the demos also record the cube's pose (world frame)
# and training adds object_aux_weight x the MSE of a small head that regresses the cube's normalized xyz from the
# three camera tokens (learn.object_aux). The head is not exported; the model reads joints, cameras and the prompt.
# B (runs/learn/tc_vision_aux_shift<N>) is A with a random shift of N px: in the top camera 1 px is ~1.6 cm and the
# cube ~3x3 px, so A's +-4 px shifts move it by up to +-6.5 cm. B trains on A's demos (same seeds and recording,
# collection is deterministic: copied, not re-collected, when A has them; else it collects its own).
# One process, one torch thread, nice 19. Every stage is skipped once state.json records it and training resumes
# from its last checkpoint (every 250 steps), so rerunning the same command continues where a stopped run left off.
# `quick` evaluates 20 held-out configurations x 1 run (eval_configs/eval_runs may change on a run), `full` the
# 50 x 3 protocol of the other tables; each writes docs/afil_results_vision_aux[_shift<N>].md (generated).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/logs
A=runs/learn/tc_vision_aux
CONFIG=(--preset sim_transfer_cube --model aloha_vision_cpu --demos 50 --batch-size 32 --rounds 0
    --max-steps 400 --train-steps 2500 --object-aux-weight 1.0)
DIR=$A NAME=tc_vision_aux
if [[ -n "${SHIFT:-}" ]]; then
    DIR=${A}_shift$SHIFT NAME=tc_vision_aux_shift$SHIFT
    CONFIG+=(--random-shift "$SHIFT")
fi
case "${1:-quick}" in
    quick) EVAL=(--eval-configs 20 --eval-runs 1) ;;
    full) EVAL=(--eval-configs 50 --eval-runs 3) ;;
    *) echo "usage: [SHIFT=<px>] $0 quick|full" >&2; exit 2 ;;
esac

# reuse_demos <from> <to> <shift>: <to> starts as <from>'s config with random_shift = <shift> and <from>'s demos
reuse_demos() {
    ./run python - "$@" <<'PY'
import json, shutil, sys
from pathlib import Path
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.run_state import RunState

src, dst, shift = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
source = RunState.open(src)
config = PipelineConfig.model_validate({**source.config.model_dump(), "random_shift": shift})
shutil.copytree(src / "demos", dst / "demos")
RunState.open(dst, config).finish("collect", {**source.info("collect"), "copied_from": str(src)})
PY
}
{
    if [[ "$DIR" != "$A" && ! -f "$DIR/state.json" && -f "$A/state.json" ]] && grep -q '"collect"' "$A/state.json"; then
        reuse_demos "$A" "$DIR" "$SHIFT"
    fi
    nice -n 19 ./run failforward learn eval --run-dir "$DIR" "${CONFIG[@]}" "${EVAL[@]}"
    nice -n 19 ./run failforward learn table --run-dir "$DIR" --out "docs/afil_results_vision_${NAME#tc_vision_}.md"
} >> "runs/logs/$NAME.log" 2>&1
