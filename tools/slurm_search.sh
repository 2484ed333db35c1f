#!/usr/bin/env bash
# A study-based search on a slurm cluster: TASKS workers, each a slurm task
# running trials of the same study, then the results written once.
#   [TASKS=8] [GPUS_PER_TASK=1] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   tools/slurm_search.sh PARTITION JOB_NAME CONFIG WORK_DIR STORAGE [search.py options]
# STORAGE must be reachable from every node, e.g. postgresql://user@host/db
# (SQLite on a network file system is not safe for many writers).
# GPUS_PER_TASK=0 runs CPU-only workers.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
STORAGE=$5
TASKS=${TASKS:-8}
GPUS_PER_TASK=${GPUS_PER_TASK:-1}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${PYTHON:-python}
RESOURCES=(--ntasks="$TASKS")
if [ "$GPUS_PER_TASK" -gt 0 ]; then
    RESOURCES+=(--gpus-per-task="$GPUS_PER_TASK")
fi
export PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}"

# each task is one worker; its number (the slurm task id) seeds its sampler
srun -p "$PARTITION" --job-name="$JOB_NAME" "${RESOURCES[@]}" \
    --cpus-per-task="$CPUS_PER_TASK" $SRUN_ARGS \
    bash -c 'exec "$0" -u "$1/search.py" "$2" --work-dir="$3" --storage="$4" \
        --first-worker="$SLURM_PROCID" --no-report "${@:5}"' \
    "$PY" "$DIR" "$CONFIG" "$WORK_DIR" "$STORAGE" "${@:6}"
"$PY" -u "$DIR/search.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --storage="$STORAGE" --report-only "${@:6}"
