# a tanh schedule with train.py's default warmup timing (no --warmup-prefix): the warmup climbs to tanh's value
./distributed_train.sh 2 --data-dir /imagenet --model resnet18 -b 256 --sched tanh --epochs 100 \
    --warmup-epochs 5 --lr 0.2 --weight-decay 1e-4 --amp -j 8
