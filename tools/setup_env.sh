#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) with the pinned
# OpenMMLab stack, then verify it.
#
#   bash tools/setup_env.sh            # idempotent; fast when already set up
#
# Environment variables:
#   PYTHON            interpreter used to create the venv (default: python3.11)
#   VENV              venv location (default: <repo>/.venv)
#   AUTOPOSE_CACHE    where compiled wheels are cached between set-ups
#                     (default: ${XDG_CACHE_HOME:-~/.cache}/autopose_mm)
#   MAX_JOBS          parallel compile jobs for mmcv (default: number of cores)
#
# mmcv 2.1.0 has no wheel on PyPI for this torch, so its sdist is compiled once
# (about 20 minutes on 2 cores) and the wheel is cached under AUTOPOSE_CACHE,
# keyed by mmcv, torch, Python and device build. xtcocotools is compiled
# against the installed numpy and cached the same way.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-$ROOT/.venv}"
CACHE="${AUTOPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autopose_mm}"
REQ="$ROOT/requirements"
MMCV_VERSION="$(sed -n 's/^mmcv==//p' "$REQ/mminstall.txt")"
XTCOCO_VERSION="1.14.3"
START=$(date +%s)

step() { printf '\n[setup %4ds] %s\n' "$(( $(date +%s) - START ))" "$*"; }
fail() { printf '\n[setup] ERROR: %s\n' "$*" >&2; exit 1; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    fail "interpreter '$PYTHON' not found; install Python 3.11 or set PYTHON=/path/to/python3.11"
fi

if [ ! -x "$VENV/bin/python" ]; then
    step "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
CONSTRAINTS=(-c "$REQ/constraints.txt")

# The stamp holds a hash of every requirements file and of this script; when
# it matches and the stack imports, there is nothing to do.
stamp_value() {
    cat "$REQ"/*.txt "$ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.autopose_stamp"

verify() {
    "$PY" - <<'PYEOF'
import importlib
import sys

checks = [
    ('torch', 'import torch'),
    ('mmengine', 'import mmengine'),
    ('mmcv compiled ops (mmcv._ext)', 'import mmcv._ext'),
    ('mmcv.ops.nms on CPU',
     'import torch\n'
     'from mmcv.ops import nms\n'
     'boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])\n'
     'scores = torch.tensor([0.9, 0.8, 0.7])\n'
     'dets, keep = nms(boxes, scores, 0.5)\n'
     'assert keep.tolist() == [0, 2], keep'),
    ('mmdet.models', 'import mmdet.models'),
    ('mmpose.models', 'import mmpose.models'),
    ('xtcocotools (compiled against this numpy)', 'import xtcocotools._mask'),
    ('pycocotools', 'import pycocotools.coco'),
    ('autopose_mm', 'import autopose_mm'),
    ("MMPose's keypoint drawing (PoseLocalVisualizer, OpenCV backend)",
     'import numpy as np\n'
     'import autopose_mm\n'
     'from mmengine.structures import InstanceData\n'
     'from mmpose.structures import PoseDataSample\n'
     'from mmpose.visualization import PoseLocalVisualizer\n'
     'vis = PoseLocalVisualizer(name="setup_check", backend="opencv")\n'
     'vis.set_dataset_meta(dict(num_keypoints=2, skeleton_links=[(0, 1)]))\n'
     'sample = PoseDataSample()\n'
     'sample.pred_instances = InstanceData(\n'
     '    keypoints=np.array([[[8., 8.], [24., 24.]]]),\n'
     '    keypoint_scores=np.ones((1, 2)))\n'
     'img = vis.add_datasample("check", np.zeros((32, 32, 3), np.uint8),\n'
     '                         sample, draw_gt=False)\n'
     'assert img.sum() > 0, "nothing was drawn"'),
]
for name, code in checks:
    try:
        exec(code, {})
    except Exception as exc:  # report the broken piece and stop
        print(f'[setup] BROKEN: {name}: {type(exc).__name__}: {exc}', file=sys.stderr)
        sys.exit(1)
    print(f'[setup] ok: {name}')
PYEOF
}

# The PostgreSQL server the storage tests start (Debian's package; studies
# shared by many machines use such a server).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing Debian's postgresql (the storage tests' server)"
        apt-get install -y -q postgresql >/dev/null 2>&1 || \
            { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null; }
    else
        echo "[setup] note: no PostgreSQL server (initdb) found; the storage tests need one: apt-get install postgresql" >&2
    fi
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] && verify >/dev/null 2>&1; then
    echo "[setup] environment $VENV is up to date"
    exit 0
fi
rm -f "$STAMP"

step "installing build tools"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" -r "$REQ/build.txt" "numpy"

step "installing torch and torchvision (large download on first use)"
"${PIP[@]}" install "${CONSTRAINTS[@]}" -r "$REQ/torch.txt" --progress-bar off | grep -v '^Requirement already satisfied' || true

step "installing mmengine and the runtime dependencies"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" "$(grep '^mmengine' "$REQ/mminstall.txt")"
grep -v '^xtcocotools' "$REQ/runtime.txt" > "$VENV/runtime-no-xtcoco.txt"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" -r "$VENV/runtime-no-xtcoco.txt" \
    -r "$REQ/search.txt" -r "$REQ/deploy.txt" -r "$REQ/tests.txt"

TAG="$("$PY" - <<'PYEOF'
import sys
import torch
device = 'cuda' if torch.cuda.is_available() else 'cpu'
print(f'torch{torch.__version__.split("+")[0]}-cp{sys.version_info.major}{sys.version_info.minor}-{device}')
PYEOF
)"
NUMPY_TAG="numpy$("$PY" -c 'import numpy; print(numpy.__version__)')"

# Build (or reuse) a wheel: cached_wheel NAME VERSION KEY BUILD_FUNCTION
cached_wheel() {
    local name="$1" version="$2" key="$3" build="$4"
    local dir="$CACHE/wheels/$name-$version-$key"
    local whl
    whl="$(ls "$dir"/*.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$whl" ]; then
        local work
        work="$(mktemp -d)"
        "$build" "$work"
        mkdir -p "$CACHE/wheels"
        # Publish atomically: a half-built wheel never appears in the cache.
        local tmpdir
        tmpdir="$(mktemp -d "$CACHE/wheels/.tmp.XXXXXX")"
        cp "$work"/out/*.whl "$tmpdir"/
        rm -rf "$dir"
        mv "$tmpdir" "$dir"
        rm -rf "$work"
        whl="$(ls "$dir"/*.whl | head -n1)"
        echo "[setup] cached $whl" >&2
    else
        echo "[setup] using cached $whl" >&2
    fi
    printf '%s\n' "$whl"
}

build_mmcv() {
    local work="$1"
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
        "mmcv==$MMCV_VERSION" -d "$work/src"
    tar -xzf "$work"/src/mmcv-*.tar.gz -C "$work"
    local src
    src="$(ls -d "$work"/mmcv-*/)"
    # torch 2.14's headers need C++20; mmcv's setup.py hard-codes older standards.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    local jobs="${MAX_JOBS:-$(nproc)}"
    echo "[setup] compiling mmcv $MMCV_VERSION with ops ($jobs jobs); the first time this takes ~20 minutes on 2 cores" >&2
    local log="$work/mmcv-build.log"
    ( cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="$jobs" "$PY" -m pip wheel -v --no-build-isolation \
        --no-deps . -w "$work/out" >"$log" 2>&1 ) &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 30
        local progress
        progress="$(grep -o '\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -n1 || true)"
        printf '[setup %4ds] mmcv still compiling, step %s (log: %s)\n' \
            "$(( $(date +%s) - START ))" "${progress:-[starting]}" "$log" >&2
    done
    if ! wait "$pid"; then
        tail -n 40 "$log" >&2
        fail "mmcv build failed; full log in $log"
    fi
}

build_xtcocotools() {
    local work="$1"
    "${PIP[@]}" wheel -q --no-deps --no-binary xtcocotools --no-build-isolation \
        "xtcocotools==$XTCOCO_VERSION" -w "$work/out"
}

if "$PY" -c 'import mmcv._ext' >/dev/null 2>&1; then
    step "mmcv with compiled ops already installed"
else
    step "installing mmcv $MMCV_VERSION with compiled ops"
    MMCV_WHL="$(cached_wheel mmcv "$MMCV_VERSION" "$TAG" build_mmcv)"
    "${PIP[@]}" install -q --no-deps --force-reinstall "$MMCV_WHL"
fi

if "$PY" -c 'import xtcocotools._mask' >/dev/null 2>&1; then
    step "xtcocotools already works with this numpy"
else
    step "installing xtcocotools compiled against $NUMPY_TAG"
    XT_WHL="$(cached_wheel xtcocotools "$XTCOCO_VERSION" "$NUMPY_TAG-$TAG" build_xtcocotools)"
    "${PIP[@]}" install -q --no-deps --force-reinstall "$XT_WHL"
fi

step "installing mmdet and mmpose"
# mmcv and xtcocotools are already in place; mmpose's chumpy dependency does
# not build and is never imported, so mmpose goes in without its dependencies.
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" --no-deps \
    "$(grep '^mmdet' "$REQ/mminstall.txt")" "$(grep '^mmpose' "$REQ/mminstall.txt")"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" shapely terminaltables tqdm six

step "installing autopose_mm (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

step "verifying the stack"
verify || fail "the environment is incomplete (see the BROKEN line above)"
stamp_value > "$STAMP"
step "environment ready: $VENV"
