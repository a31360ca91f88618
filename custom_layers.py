"""Import name of the Python layers as prototxts spell it (`module: 'custom_layers'`)."""

from myPython.custom_layers import *  # noqa: F401,F403
