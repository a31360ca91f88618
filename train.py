"""Train a Caffe net from a solver, as the original's users expect:

    python train.py --solver proto/train/lifted/solver_resnet101_lifted_pca512.prototxt \\
                    --weights caffemodel/deep_image_retrieval_model.caffemodel --gpu 0

The same as ``deep-retrieval train ...``; ``python train.py --help`` lists every option.
"""

import sys

from myPython.apps.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]], prog="train.py"))
