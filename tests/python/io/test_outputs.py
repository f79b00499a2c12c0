"""The overlay PNG a person looks at: colours kept, outlines visible, a legend of classes."""

import cv2
import numpy as np

from cellrt import ops
from cellrt.io.outputs import outlines, overlay_png_bytes
from cellrt.io.table import ObjectTable


def _table(labels, class_names=("nucleus",), classes=None):
    props = ops.regionprops(labels)
    n = len(props["label"])
    return ObjectTable.from_columns(
        {"id": props["label"], "area": props["area"], "bbox": props["bbox"],
         "centroid": props["centroid"], "score": np.ones(n),
         "class": np.ones(n) if classes is None else classes}, class_names)


def _decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def _squares(shape=(64, 96)):
    labels = np.zeros(shape, np.int32)
    labels[40:56, 10:26] = 1
    labels[40:56, 60:76] = 2
    return labels


def test_rgb_image_keeps_its_colours():
    lilac = np.empty((64, 96, 3), np.uint8)
    lilac[:] = (200, 162, 200)
    lilac[42:54, 12:24] = (120, 60, 140)  # a purple nucleus
    labels = _squares()
    out = _decode(overlay_png_bytes(lilac, labels, _table(labels)))
    edge = outlines(labels)
    assert np.array_equal(out[~edge], lilac[~edge])


def test_outlines_stay_visible_on_saturated_nuclei():
    img = np.zeros((64, 96), np.uint16)
    labels = _squares()
    img[labels == 1] = 65535  # saturated
    img[labels == 2] = 3000  # dim
    out = _decode(overlay_png_bytes(img, labels, _table(labels))).astype(float)
    luma = out @ [0.299, 0.587, 0.114]
    edge = outlines(labels)
    on_bright, on_dim = edge & (labels == 1), edge & (labels == 2)
    inside_bright = (labels == 1) & ~edge
    assert luma[on_bright].max() < 0.5 * luma[inside_bright].min()
    assert luma[on_dim].min() > 150  # the class colour itself (yellow) on a dim nucleus


def test_several_classes_get_a_legend_one_class_does_not():
    img = np.full((64, 96, 3), 230, np.uint8)
    labels = _squares()
    one = _decode(overlay_png_bytes(img, labels, _table(labels)))
    assert (one[:20, :40] == 230).all()
    two = _decode(overlay_png_bytes(img, labels, _table(labels, ("tumour", "immune"),
                                                        np.array([1, 2])))
                  )
    corner = two[:24, :80]
    assert (corner < 120).mean() > 0.5  # the dark legend box
    # both class colours appear in it (yellow, cyan swatches)
    assert ((corner[..., 0] > 200) & (corner[..., 1] > 200) & (corner[..., 2] < 60)).any()
    assert ((corner[..., 0] < 60) & (corner[..., 1] > 200) & (corner[..., 2] > 200)).any()
