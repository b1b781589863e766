#!/bin/bash
# as in Megatron-LM's examples/gpt3/train_gpt3_175b_distributed.sh, with the decay length
# copied from a sample-based recipe (train-iters x global-batch-size) into --lr-decay-iters
GPUS_PER_NODE=8
torchrun --nproc_per_node $GPUS_PER_NODE pretrain_gpt.py \
    --num-layers 24 \
    --hidden-size 1024 \
    --micro-batch-size 4 \
    --global-batch-size 256 \
    --train-iters 20000 \
    --weight-decay 0.1 \
    --lr 6.0e-4 \
    --lr-decay-style cosine \
    --min-lr 6.0e-5 \
    --lr-warmup-iters 500 \
    --lr-decay-iters 5120000 \
    --clip-grad 1.0
