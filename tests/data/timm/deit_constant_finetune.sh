# fine-tuning a pretrained DeiT-S at a constant rate after a short warmup (--sched constant, timm 1.0.31)
./distributed_train.sh 2 --data-dir /data/flowers102 --model deit_small_patch16_224 --pretrained --num-classes 102 \
    -b 64 --opt adamw --weight-decay 0.05 --sched constant --epochs 30 --warmup-epochs 2 --warmup-lr 1e-6 \
    --lr 5e-5 --min-lr 1e-6 --cooldown-epochs 5 --amp
