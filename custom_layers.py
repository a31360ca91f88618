"""Import name of the Python layers as prototxts spell it (`module: 'custom_layers'`): the net layers
(normalisation, aggregation, grid, losses) and the training data layers."""

from myPython.nets.layers import *  # noqa: F401,F403
from myPython.training.data_layers import *  # noqa: F401,F403
