"""Import name of the Python layers as prototxts spell it (`module: 'custom_layers'`)."""

from myPython.nets.layers import *  # noqa: F401,F403
