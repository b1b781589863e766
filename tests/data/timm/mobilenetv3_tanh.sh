# MobileNetV3-style recipe with timm's tanh schedule (TanhLRScheduler), the warmup before it (--warmup-prefix),
# stepped once per epoch (no --sched-on-updates)
./distributed_train.sh 8 --data-dir /imagenet --model mobilenetv3_large_100 -b 256 --sched tanh --epochs 200 \
    --warmup-epochs 3 --warmup-prefix --warmup-lr 1e-6 --min-lr 1e-5 --lr .064 --opt rmsproptf --opt-eps .001 \
    --weight-decay 1e-5 --drop 0.2 --model-ema --model-ema-decay 0.9999 --aa rand-m9-mstd0.5 --amp -j 7
