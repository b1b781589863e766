# a DeiT-style ViT-S recipe stepped per update, with the warmup before the cosine
./distributed_train.sh 8 --data-dir /imagenet --model vit_small_patch16_224 -b 128 --opt adamw \
    --weight-decay 0.05 --sched cosine --sched-on-updates --warmup-prefix --epochs 300 \
    --warmup-epochs 5 --warmup-lr 1e-6 --min-lr 1e-5 --lr 5e-4 --mixup 0.8 --cutmix 1.0 --amp
