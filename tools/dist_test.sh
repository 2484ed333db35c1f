#!/usr/bin/env bash
# Distributed evaluation on one machine, or several with NNODES/NODE_RANK/ADDR.
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
# On GPUs the processes use nccl; without CUDA they use gloo on the CPU.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${PYTHON:-python}

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PY" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
