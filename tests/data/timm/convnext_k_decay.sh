# ConvNeXt-T style AdamW recipe stepped per update, with a k-decay cosine (--lr-k-decay 1.5)
./distributed_train.sh 8 --data-dir /imagenet --model convnext_tiny -b 128 --opt adamw --weight-decay 0.05 \
    --sched cosine --sched-on-updates --lr-k-decay 1.5 --epochs 300 --warmup-epochs 20 --warmup-prefix \
    --lr 4e-3 --warmup-lr 1e-6 --min-lr 1e-6 --drop-path 0.1 --mixup 0.8 --cutmix 1.0 --amp
