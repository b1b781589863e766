# Big Vision's ViT schedule in timm 1.0.31: a warmup from 0, rsqrt (timescale = the warmup), a linear cooldown
./distributed_train.sh 8 --data-dir /imagenet --model vit_small_patch16_224 -b 128 --opt adamw --weight-decay 1e-4 \
    --sched rsqrt --sched-on-updates --epochs 90 --warmup-epochs 10 --warmup-prefix --decay-epochs 10 \
    --lr 1e-3 --warmup-lr 0 --mixup 0.2 --amp
