"""The R-MAC descriptor's own math, pure numpy and OpenCV: the rigid multi-scale grid of regions (grid), how an
image becomes a network input (preparation) and numpy references of the head's operations (functional).

The lowest room above `common`: imports only `common` and `errors`, so that the Caffe layers (`nets`) and the
descriptor API (`retrieval`) share one copy of the grid.
"""
