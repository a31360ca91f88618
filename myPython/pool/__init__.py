"""The pool: inputs (files, folders, lists), decoding of images and videos, embedding into the sharded
descriptor store, nearest-neighbour search, same-origin groups, and embedding on Ray.

May import `retrieval`, `common` and `errors`; never Caffe at import time.
"""
