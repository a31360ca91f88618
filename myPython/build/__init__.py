"""Everything that *builds* a model, above the runtime: the default model's learned head (copy_head) and its
build (default_model), the image and video calibrations of the same-origin decision (calibration,
video_calibration), int8 quantisation of the ONNX export and the measured choice of `--engine auto` (quantize,
int8_choice). Run at install (`deep-retrieval model build-default`); nothing below this room imports it, so that
`load_model` only reads files and `search`, `group` and `match-videos` never learn or calibrate anything.

May import every room but `apps`.
"""
