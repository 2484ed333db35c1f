#!/usr/bin/env bash
# Evaluation on a slurm cluster.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
# GPUS=0 runs CPU-only tasks (gloo); set TASKS to their number.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${PYTHON:-python}
if [ "$GPUS" -gt 0 ]; then
    RESOURCES=(--gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE")
else
    RESOURCES=(--ntasks="${TASKS:-2}")
fi

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" "${RESOURCES[@]}" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PY" -u "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "${@:5}"
