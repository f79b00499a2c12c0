"""Boundary-distance targets and centerness on hand-built label images."""

import numpy as np
import pytest

from cellrt.families.boundary.maps import centerness
from cellrt.train.targets import boundary_distances, contact_band


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


def test_contact_band_by_hand():
    lab = np.zeros((4, 10), np.int32)
    lab[:, 0:4] = 5  # touches instance 2 along the line between columns 3 and 4
    lab[:, 4:7] = 2
    lab[:, 8:10] = 9  # one background column away from instance 2
    band = contact_band(lab, radius=1)
    expect = np.zeros_like(band)
    expect[:, 3:5] = True  # either side of the contact line; instances 2 and 9 are 2 px apart
    np.testing.assert_array_equal(band, expect)
    band2 = contact_band(lab, radius=2)
    expect[:, 2:7] = True
    expect[:, 8] = True  # within 2 px of instance 2 across the background column
    np.testing.assert_array_equal(band2, expect)
    # Neither the image border nor background is a contact.
    single = np.zeros((6, 6), np.int32)
    single[1:6, 0:6] = 1
    assert not contact_band(single).any()


@pytest.mark.parametrize("radius", [1, 2])
def test_contact_band_matches_bruteforce_on_random_labels(radius):
    rng = np.random.default_rng(1)
    # 5x5 blocks of labels 0..4: pixels away from, next to and at a contact, and next to
    # background only, all occur (single random pixels would have another label beside almost
    # every pixel).
    lab = np.kron(rng.integers(0, 5, (5, 6)), np.ones((5, 5), np.int64)).astype(np.int32)
    band = contact_band(lab, radius=radius)
    assert 0 < band.sum() < (lab > 0).sum()
    for y in range(lab.shape[0]):
        for x in range(lab.shape[1]):
            win = lab[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1]
            other = ((win != lab[y, x]) & (win > 0)).any()
            assert band[y, x] == (lab[y, x] > 0 and other), (y, x)


def test_contact_band_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"contact_band: labels must be 2-D, got shape \(3,\)"):
        contact_band(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"contact_band: radius must be an integer >= 1, got 0"):
        contact_band(np.zeros((3, 3), np.int32), radius=0)
