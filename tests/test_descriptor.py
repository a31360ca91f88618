"""The R-MAC grid and the one descriptor API."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from myPython.common.images import InputError, decode_image, load_image, to_bgr8
from myPython.retrieval.extractor import (
    DescriptorExtractor,
    ExtractionSettings,
    crop_box,
    l2_normalize,
    prepare_input,
    prepare_inputs,
    resize_long_side,
)
from myPython.retrieval.models import load_model
from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network, rmac_rois

# Grids listed in the seed inventory (rows: batch index, x1, y1, x2, y2; inclusive ends).
PUBLISHED_GRIDS = {
    (280, 496, 2): [[0, 0, 0, 279, 279], [0, 216, 0, 495, 279], [0, 0, 0, 185, 185], [0, 155, 0, 340, 185],
                    [0, 310, 0, 495, 185], [0, 0, 94, 185, 279], [0, 155, 94, 340, 279], [0, 310, 94, 495, 279]],
    (384, 512, 2): [[0, 0, 0, 383, 383], [0, 128, 0, 511, 383], [0, 0, 0, 255, 255], [0, 128, 0, 383, 255],
                    [0, 256, 0, 511, 255], [0, 0, 128, 255, 383], [0, 128, 128, 383, 383],
                    [0, 256, 128, 511, 383]],
    (288, 384, 2): [[0, 0, 0, 287, 287], [0, 96, 0, 383, 287], [0, 0, 0, 191, 191], [0, 96, 0, 287, 191],
                    [0, 192, 0, 383, 191], [0, 0, 96, 191, 287], [0, 96, 96, 287, 287], [0, 192, 96, 383, 287]],
    (512, 384, 2): [[0, 0, 0, 383, 383], [0, 0, 128, 383, 511], [0, 0, 0, 255, 255], [0, 128, 0, 383, 255],
                    [0, 0, 128, 255, 383], [0, 128, 128, 383, 383], [0, 0, 256, 255, 511],
                    [0, 128, 256, 383, 511]],
    (384, 512, 1): [[0, 0, 0, 383, 383], [0, 128, 0, 511, 383]],
    (384, 512, 0): [[0, 0, 0, 511, 383]],
}


@pytest.mark.parametrize("key", list(PUBLISHED_GRIDS))
def test_published_grids(key):
    h, w, levels = key
    np.testing.assert_array_equal(rmac_rois(h, w, levels), np.array(PUBLISHED_GRIDS[key], dtype=np.float32))


@pytest.mark.parametrize(("h", "w", "levels", "count"), [(160, 512, 2, 17), (384, 384, 2, 5), (384, 512, 3, 20),
                                                        (512, 384, 1, 2), (100, 1000, 2, 23)])
def test_region_counts_and_bounds(h, w, levels, count):
    r = get_rmac_region_coordinates(h, w, levels)
    assert len(r) == count
    assert (r[:, 0] >= 0).all() and (r[:, 1] >= 0).all()
    assert (r[:, 0] + r[:, 2] <= w).all() and (r[:, 1] + r[:, 3] <= h).all()
    assert (r[:, 2] == r[:, 3]).all()


def test_packing_uses_batch_index_and_inclusive_ends():
    a, b = get_rmac_region_coordinates(384, 512, 1), get_rmac_region_coordinates(100, 100, 0)
    packed = pack_regions_for_network([a, b])
    assert packed[:, 0].tolist() == [0, 0, 1]
    assert packed[2].tolist() == [1, 0, 0, 99, 99]
    np.testing.assert_array_equal(rmac_rois(384, 512, 1, 3)[:, 0], [0, 0, 1, 1, 2, 2])


def test_bad_grid_arguments():
    with pytest.raises(ValueError):
        get_rmac_region_coordinates(0, 10, 2)
    with pytest.raises(ValueError):
        get_rmac_region_coordinates(10, 10, -1)


def test_resize_rounds_half_up_and_keeps_aspect():
    image = np.zeros((375, 500, 3), np.uint8)
    resized, ratio = resize_long_side(image, 800)
    assert resized.shape[:2] == (600, 800) and ratio == 1.6
    resized, _ = resize_long_side(np.zeros((3, 5, 3), np.uint8), 3)
    assert resized.shape[:2] == (2, 3)  # 1.8 -> 2


def test_prepare_input_subtracts_the_mean_and_crops_the_scaled_box():
    image = np.full((200, 400, 3), 100, np.uint8)
    x = prepare_input(image, 200, (10.0, 20.0, 30.0))
    assert x.shape == (3, 100, 200) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], [90, 80, 70])
    crop = prepare_input(image, 200, (0, 0, 0), box=(40, 20, 240, 120))
    assert crop.shape == (3, 50, 100)
    assert crop_box(np.zeros((100, 200, 3)), (0, 0, 400, 400), 0.5).shape[:2] == (100, 200)
    with pytest.raises(ValueError):
        crop_box(np.zeros((100, 200, 3)), (10, 10, 10, 50), 1.0)


def test_settings_scales_and_keys():
    assert ExtractionSettings(S=800).resolved_scales() == (800,)
    assert ExtractionSettings(S=800, multires=True).resolved_scales() == (550, 800, 1050)
    assert ExtractionSettings(scales=(256, 512, 768)).resolved_scales() == (256, 512, 768)
    assert ExtractionSettings(S=512).key() != ExtractionSettings(S=512, L=3).key()


@pytest.fixture(scope="module")
def extractor():
    spec = load_model()
    # fp32 ONNX Runtime on every CPU: `auto` runs int8 on some, whose activation scales follow the batch
    return DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(S=160), batch_size=3,
                                          engine="onnxruntime")


def _photos():
    from myPython.common import assets

    return [load_image(p) for p in assets.perception_images()[:5]]


def test_descriptors_are_unit_vectors_and_batching_changes_nothing(extractor):
    images = _photos() + [cv2.resize(_photos()[0], (90, 60))]
    together = extractor.describe_batch(images)
    alone = np.stack([extractor.describe(im) for im in images])
    assert together.shape == (6, 512)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert extractor.engine.batchable


def test_multiresolution_is_the_renormalised_sum(extractor):
    images = _photos()[:2]
    multi = DescriptorExtractor(extractor.engine, ExtractionSettings(scales=(128, 160, 192),
                                                                     mean_bgr=extractor.settings.mean_bgr))
    parts = [DescriptorExtractor(extractor.engine, ExtractionSettings(S=s, mean_bgr=extractor.settings.mean_bgr))
             .describe_batch(images) for s in (128, 160, 192)]
    np.testing.assert_allclose(multi.describe_batch(images), l2_normalize(sum(parts)), atol=1e-5)


def test_query_box_changes_the_descriptor(extractor):
    image = _photos()[1]
    h, w = image.shape[:2]
    full = extractor.describe(image)
    boxed = extractor.describe(image, box=(0, 0, w / 2, h / 2))
    assert float(full @ boxed) < 0.999
    # Upstream semantics: the box is cut from the image already resized to S, not resized again.
    resized, ratio = resize_long_side(image, 160)
    cut = resized[: int(np.floor(h / 2 * ratio + 0.5)), : int(np.floor(w / 2 * ratio + 0.5))].copy()
    same_scale = DescriptorExtractor(extractor.engine, ExtractionSettings(S=max(cut.shape[:2]),
                                                                          mean_bgr=extractor.settings.mean_bgr))
    np.testing.assert_allclose(boxed, same_scale.describe(cut), atol=1e-5)


def test_paths_and_arrays_give_the_same_descriptor(extractor, tmp_path):
    image = _photos()[2]
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    np.testing.assert_allclose(extractor.describe(path), extractor.describe(image), atol=1e-6)
    with pytest.raises(TypeError):
        extractor.describe(3.5)


def test_decoding_normalises_pixel_formats(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert to_bgr8(gray).shape == (8, 8, 3)
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert to_bgr8(rgba).shape == (4, 4, 3)
    deep = np.full((4, 4, 3), 65535, np.uint16)
    assert to_bgr8(deep).max() == 255 and to_bgr8(deep).dtype == np.uint8
    ok, png16 = cv2.imencode(".png", deep)
    assert decode_image(png16.tobytes()).dtype == np.uint8
    with pytest.raises(InputError, match="empty file"):
        decode_image(b"", "e.jpg")
    with pytest.raises(InputError, match="not a decodable image"):
        decode_image(b"hello world", "t.jpg")
    ok, jpg = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="truncated"):
        decode_image(jpg.tobytes()[: len(jpg) // 2], "half.jpg")
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "missing.jpg")


def test_too_thin_inputs_are_refused_before_caffe_sees_them(extractor):
    strip = np.zeros((2, 4000, 3), np.uint8)
    with pytest.raises(InputError, match="strip.png: 4000x2 is too elongated"):
        prepare_inputs(strip, extractor.settings, name="strip.png")
    with pytest.raises(InputError, match="too elongated"):
        extractor.describe(strip)
