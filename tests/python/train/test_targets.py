"""Boundary-distance targets and centerness on hand-built label images."""

import numpy as np
import pytest

from cellrt.train.targets import boundary_distances, centerness


def test_rectangle_distances_by_hand():
    lab = np.zeros((5, 7), np.int32)
    lab[1:4, 1:6] = 3  # 3 rows x 5 columns
    d = boundary_distances(lab)
    left, right, up, down = d
    np.testing.assert_array_equal(left[2, 1:6], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(right[2, 1:6], [5, 4, 3, 2, 1])
    np.testing.assert_array_equal(up[1:4, 3], [1, 2, 3])
    np.testing.assert_array_equal(down[1:4, 3], [3, 2, 1])
    assert (d[:, lab == 0] == 0).all()
    assert centerness(d)[2, 3] == pytest.approx(1.0, abs=1e-5)


def test_touching_instances_and_image_border():
    lab = np.array([[1, 1, 2, 2, 2]], np.int32)
    left, right, up, down = boundary_distances(lab)
    np.testing.assert_array_equal(left[0], [1, 2, 1, 2, 3])
    np.testing.assert_array_equal(right[0], [2, 1, 3, 2, 1])
    np.testing.assert_array_equal(up[0], [1, 1, 1, 1, 1])  # the image border is a boundary


def test_nonconvex_run_stops_at_first_exit():
    lab = np.array([[1, 1, 0, 1, 1]], np.int32)  # one instance, two runs in this row
    left = boundary_distances(lab)[0]
    np.testing.assert_array_equal(left[0], [1, 2, 0, 1, 2])


def test_matches_bruteforce_on_random_labels():
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 4, (23, 31)).astype(np.int32)
    d = boundary_distances(lab)
    for y in range(23):
        for x in range(31):
            v = lab[y, x]
            if v == 0:
                continue
            steps = []
            for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                k, yy, xx = 0, y, x
                while 0 <= yy < 23 and 0 <= xx < 31 and lab[yy, xx] == v:
                    k, yy, xx = k + 1, yy + dy, xx + dx
                steps.append(k)
            np.testing.assert_array_equal(d[:, y, x], steps)


def test_rejects_3d():
    with pytest.raises(ValueError, match=r"boundary_distances: labels must be 2-D, got shape \(2, 3, 4\)"):
        boundary_distances(np.zeros((2, 3, 4), np.int32))
