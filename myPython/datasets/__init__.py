"""Data built from pinned registry packages: the demo pool and, with their ground truth, the sets the
project learns from and evaluates on. May import `pool`, `common` and `errors`.
"""
