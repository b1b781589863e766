# a ViT-B recipe with timm 1.0.31's warmup-stable-decay schedule, stepped per update: after the warmup the rate
# holds, then a 1-sqrt cooldown over the last 20% of the stable + decay epochs
./distributed_train.sh 8 --data-dir /imagenet --model vit_base_patch16_224 -b 128 --opt adamw --weight-decay 0.05 \
    --sched wsd --sched-on-updates --epochs 100 --warmup-epochs 5 --decay-epochs 0.2 --lr-decay-fn 1-sqrt \
    --lr 1e-3 --warmup-lr 1e-6 --min-lr 1e-6 --drop-path 0.1 --mixup 0.8 --cutmix 1.0 --amp
