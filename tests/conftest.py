"""Test setup: quiet Caffe's logging and make the shared helpers (`caffe_helpers`) importable."""

import os
import sys
from pathlib import Path

os.environ["GLOG_minloglevel"] = "2"  # before anything imports caffe

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
