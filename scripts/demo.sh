#!/bin/sh
# Sets up, builds, and trains a 500-hidden-unit RBM with PCD on the 10,000
# bundled MNIST digits, printing held-out quality after every epoch. The
# model is written to mnist-rbm.npz (set EBM_DEMO_OUT to change the path).
#
# Usage: scripts/demo.sh
set -eu
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release
fi
ninja -C build

out=${EBM_DEMO_OUT:-mnist-rbm.npz}
./build/tools/ebm train \
    --data data/mnist-10k/images-idx3-ubyte.gz \
    --hidden 500 --pcd 1 --chains 100 --epochs 10 \
    --batch 100 --lr 0.05 --momentum 0.5 --weight-decay 0.0001 \
    --seed 1 --valid-fraction 0.1 \
    --out "$out"

# The model is a plain NumPy archive; the path reaches Python as an
# argument, never as source text.
/usr/bin/python3 - "$out" <<'PYTHON'
import sys

import numpy

path = sys.argv[1]
model = numpy.load(path)
arrays = ", ".join(f"{name} {model[name].dtype} {model[name].shape}"
                   for name in model.files)
print(f"numpy.load({path!r}): {arrays}")
PYTHON
