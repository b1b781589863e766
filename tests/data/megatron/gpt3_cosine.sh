#!/bin/bash
# as in Megatron-LM's examples/gpt3/train_gpt3_175b_distributed.sh
GPUS_PER_NODE=8
torchrun --nproc_per_node $GPUS_PER_NODE pretrain_gpt.py \
    --num-layers 24 \
    --hidden-size 1024 \
    --micro-batch-size 4 \
    --global-batch-size 256 \
    --train-iters 5000 \
    --weight-decay 0.1 \
    --lr 6.0e-4 \
    --lr-decay-style cosine \
    --min-lr 6.0e-5 \
    --lr-warmup-fraction .01 \
    --lr-decay-iters 4300 \
    --clip-grad 1.0
