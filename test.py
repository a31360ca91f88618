"""Oxford5k / Paris6k (and revisited ROxford5k / RParis6k) mAP of an R-MAC model, with upstream's flags.

    python test.py --S 800 --L 2 --dataset datasets/Oxford --dataset_name Oxford [--multires] [--aqe 1 --dbe 20]

Prints ``<query>: <AP>`` per query, 20 dashes and ``Mean: xx.xx`` (revisited: mAP and mP@1,5,10 per protocol).
Runs on the CPU unless --gpu is given. See docs/reproduce.md for the published numbers.
"""

import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")

from myPython.apps.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["oxford", *sys.argv[1:]], prog="test.py"))
