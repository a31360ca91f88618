"""The default model's head settings, chosen on the validation split by `deep-retrieval copy-head select`.

A file of its own because the learned head's cache key covers it (`retrieval.default_location.HEAD_SOURCES`):
changing the choice relearns the head, changing the builder does not.
"""

from myPython.retrieval.whitening import HeadSettings

HEAD = HeadSettings(scales=(384, 512), L=2, mirror=False, whitening="regions")
HEAD_CHOICE = (
    "scales 384+512 (descriptors summed), L=2, no mirrored view, learned whitening from matched regions: the best "
    "of 9 candidates on the validation split (38 photos x 7 = 266 images; `deep-retrieval copy-head select`): "
    "mAP 0.986, recall at precision 0.95 0.909, best F1 0.930, against 0.970 / 0.840 / 0.903 for the previous "
    "head (S=512, PCA-whitening) and 0.983 / 0.867 / 0.911 for the best single scale (S=512, matched regions). "
    "Learned whitening of image-level vectors applied per region lost (0.951 / 0.779); a mirrored view is left to "
    "geometric verification, which is mirror-aware, instead of doubling the cost")
