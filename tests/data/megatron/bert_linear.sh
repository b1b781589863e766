# as in Megatron-LM's examples/bert/train_bert_340m_distributed.sh
python pretrain_bert.py \
  --micro-batch-size 4 --global-batch-size 32 \
  --train-iters 1000000 \
  --lr 0.0001 \
  --lr-decay-style linear \
  --min-lr 1.0e-5 \
  --lr-decay-iters 990000 \
  --lr-warmup-fraction .01 \
  --weight-decay 1e-2
