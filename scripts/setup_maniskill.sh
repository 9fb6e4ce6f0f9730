#!/usr/bin/env bash
# Set up .venv-maniskill: ManiSkill 3 on the CPU (SAPIEN on Mesa lavapipe) next to failforward.
#
#   bash scripts/setup_maniskill.sh            # idempotent; re-run after a fresh clone
#   .venv-maniskill/bin/python -m pytest tests/maniskill
#   source .venv-maniskill/maniskill.env       # only for shells that run other Vulkan programs
#
# Why a second venv: mani-skill 3.0.1 brings mplib 0.1.1, which segfaults with numpy 2, so this
# venv pins numpy<2 (and opencv < 4.11, whose newer wheels need numpy 2). The main venv keeps numpy 2.
# Why lavapipe: SAPIEN needs a Vulkan device even for state-only simulation, and Debian 12's own
# lavapipe (Mesa 22.3) is too old; Mesa 25 from bookworm-backports works. Its debs are downloaded
# with apt into a private apt state (the system's apt sources are left as they are) and unpacked
# with dpkg -x under .venv-maniskill/lavapipe; nothing is installed system-wide.
# Needs: Debian 12 (bookworm) amd64, python3 with venv, root for `apt-get download` of the debs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-maniskill"
PY="$VENV/bin/python"
LAVAPIPE="$VENV/lavapipe"
LIBDIR="$LAVAPIPE/usr/lib/x86_64-linux-gnu"
ICD="$LAVAPIPE/lvp_icd.json"
CONSTRAINTS="$VENV/constraints.txt"

log() { echo "[setup_maniskill] $*"; }

# 1. The venv.
if [[ ! -x "$PY" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
fi

# 2. Python packages. torch first: 2.13.0 is a local CPU wheel; any other torch spec pulls GBs of CUDA.
cat > "$CONSTRAINTS" <<'EOF'
torch==2.13.0
numpy<2
opencv-python<4.11
opencv-python-headless<4.11
EOF
if ! "$PY" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
    log "installing torch==2.13.0 (CPU)"
    "$PY" -m pip install -q torch==2.13.0
fi
if ! "$PY" -c "import mani_skill, mplib, numpy, sys; sys.exit(not numpy.__version__.startswith('1.'))" 2>/dev/null; then
    log "installing mani-skill==3.0.1 with numpy<2"
    "$PY" -m pip install -q -c "$CONSTRAINTS" mani-skill==3.0.1 "numpy<2" "opencv-python<4.11" "opencv-python-headless<4.11"
fi
# failforward itself (editable) with its core dependencies and the dev, sim, onnx and train extras; all of
# them resolve with numpy<2 and the torch above (checked with `pip install --dry-run`: onnx 1.23, onnxruntime
# 1.31, onnxscript 0.7 pull in neither another torch nor numpy 2). sim: gym-aloha, mujoco 3.8, mink (the
# control runtime imports the simulated ALOHA driver); onnx + train: `failforward learn` exports the AFIL
# policy to ONNX and rolls it out with onnxruntime. Not here: ros, hw, trt, serve (use the main venv).
# Every requirement but OpenCV: the core pins opencv-python-headless 5.0 (the symbol renderer's golden images),
# whose wheels need numpy >= 2; here mani-skill's OpenCV 4.10 (numpy 1) serves failforward's cv2 calls.
log "installing failforward (editable, [dev,sim,onnx,train]) under the numpy<2 constraints, OpenCV kept at 4.10"
"$PY" - "$ROOT/pyproject.toml" dev sim onnx train > "$VENV/requirements.txt" <<'PYEOF'
import sys
import tomllib

with open(sys.argv[1], "rb") as file:
    project = tomllib.load(file)["project"]
requirements = list(project["dependencies"])
for extra in sys.argv[2:]:
    requirements += project["optional-dependencies"][extra]
print("\n".join(r for r in requirements if not r.startswith("opencv")))
PYEOF
"$PY" -m pip install -q -c "$CONSTRAINTS" -r "$VENV/requirements.txt"
"$PY" -m pip install -q --no-deps -e "$ROOT"

# 3. Lavapipe (Mesa >= 24.3) from bookworm-backports, unpacked into the venv.
if [[ ! -f "$LIBDIR/libvulkan_lvp.so" ]]; then
    APT_DIR="$(mktemp -d)"
    trap 'rm -rf "$APT_DIR"' EXIT
    mkdir -p "$APT_DIR/parts" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
    cat > "$APT_DIR/parts/backports.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    APT_OPTS=(-o "Dir::Etc::SourceParts=$APT_DIR/parts" -o "Dir::Etc::SourceList=/dev/null"
              -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o "APT::Sandbox::User=root")
    log "downloading mesa-vulkan-drivers (+ libdrm) from bookworm-backports"
    apt-get "${APT_OPTS[@]}" update -qq
    (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" download -qq \
        mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)
    rm -rf "$LAVAPIPE" && mkdir -p "$LAVAPIPE"
    for deb in "$APT_DIR"/debs/*.deb; do dpkg -x "$deb" "$LAVAPIPE"; done
fi
# The packaged ICD file names the library by its system path; point it at the unpacked copy.
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$LIBDIR/libvulkan_lvp.so\"#" \
    "$LAVAPIPE/usr/share/vulkan/icd.d/lvp_icd.json" > "$ICD"
if LD_LIBRARY_PATH="$LIBDIR" ldd -r "$LIBDIR/libvulkan_lvp.so" 2>&1 | grep -E "not found|undefined symbol"; then
    echo "[setup_maniskill] lavapipe's dependencies are missing (above): apt-get install the named libraries." >&2
    exit 1
fi

# 4. Environment: an env file for shells, and a .pth so that the venv's python finds lavapipe on its own
#    (SAPIEN bundles the Vulkan loader, which reads VK_ICD_FILENAMES when it creates an instance).
cat > "$VENV/maniskill.env" <<EOF
# Written by scripts/setup_maniskill.sh: Vulkan through the lavapipe unpacked in this venv.
export VK_ICD_FILENAMES="$ICD"
export LD_LIBRARY_PATH="$LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "import os; os.environ.setdefault('VK_ICD_FILENAMES', '$ICD')" > "$SITE/failforward_lavapipe.pth"

# 5. Check: the paper's task steps on the CPU backend with joint-position control.
log "checking StackCube-v1 on physx_cpu"
"$PY" - <<'EOF'
import gymnasium as gym
import mani_skill.envs  # noqa: F401  (registers the tasks)
import numpy as np

env = gym.make("StackCube-v1", obs_mode="state", sim_backend="physx_cpu", render_mode=None,
               control_mode="pd_joint_pos")
obs, _ = env.reset(seed=0)
env.step(np.zeros(env.action_space.shape, dtype=np.float32))
env.close()
print(f"[setup_maniskill] ok: StackCube-v1 state obs {tuple(obs.shape)}, numpy {np.__version__}")
EOF
"$PY" - <<'EOF'
import numpy as np
import onnxruntime
import torch  # noqa: F401

assert np.__version__.startswith("1."), f"numpy {np.__version__} got in; mplib needs numpy < 2"
print(f"[setup_maniskill] ok: onnxruntime {onnxruntime.__version__} for `failforward learn`, numpy {np.__version__}")
EOF
