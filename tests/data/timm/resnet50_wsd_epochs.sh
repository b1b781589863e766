# a ResNet-50 recipe with --sched wsd at train.py's default per-epoch stepping, a 5-epoch decay and no cooldown
./distributed_train.sh 4 --data-dir /imagenet --model resnet50 -b 256 --sched wsd --epochs 100 --warmup-epochs 5 \
    --decay-epochs 5 --lr 0.4 --warmup-lr 1e-4 --weight-decay 1e-4 --amp -j 8
