"""deep-retrieval: R-MAC deep image retrieval on BVLC Caffe."""

__version__ = "0.1.0"
