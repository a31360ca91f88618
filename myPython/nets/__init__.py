"""Caffe plumbing: loading pycaffe and nets (runtime), the Python layers (layers, data_layers), prototxt
generators (netgen, netgen_train, protofiles), surgery on caffemodels, ONNX export, the embedded default model
and the published weights. The only package that imports Caffe at module level; may import `retrieval`,
`pool.images`, `common` and `errors`.
"""
