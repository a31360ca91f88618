"""Descriptors: image or frame -> unit vector, the one pipeline every tool uses.

grid (the rigid R-MAC grid), extractor (preparation + `DescriptorExtractor`), engines (Caffe, folded Caffe,
ONNX Runtime), models (`ModelSpec`, `load_model`, sidecars). May import `common`, `errors` and `pool.images`
(decoding); never Caffe at import time (engines load it when opened).
"""
