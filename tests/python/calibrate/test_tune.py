"""cellrt.calibrate.tune.tune: the grid search of the post-processing on val, followed past the
grid's edge where the best value sits on it."""

import pytest

from cellrt.calibrate.tune import tune

from tests.python.datasets import example_dataset

QUIET = dict(log=lambda s: None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return example_dataset(tmp_path_factory.mktemp("tune"), {"val": ["e0", "e1"], "test": ["e2"]})


def test_refuses_the_test_split(data):
    with pytest.raises(ValueError, match="refusing to tune on the 'test' split"):
        tune("nuclei-fluo", data, "test", **QUIET)


def test_best_on_the_grid_edge_is_followed_past_it(data):
    # A foreground threshold of 0.9-0.95 loses most nuclei: the best is 0.9, on the edge, and
    # the search walks down in steps of 0.05 while that gains.
    grid = {"fg_threshold": [0.95, 0.9], "min_size": [32]}
    inside, rec_inside = tune("nuclei-fluo", data, "val", grid=grid, extend_edges=False, **QUIET)
    assert inside.fg_threshold == 0.9 and rec_inside["extended"] == {}
    best, rec = tune("nuclei-fluo", data, "val", grid=grid, **QUIET)
    walked = rec["extended"]["fg_threshold"]
    assert walked[0] == 0.85 and all(round(a - b, 6) == 0.05 for a, b in zip(walked, walked[1:]))
    assert best.fg_threshold in walked and best.fg_threshold < 0.9
    assert rec["score"] > rec_inside["score"]
    assert "min_size" not in rec["extended"]  # a single value has no step to follow
    assert rec["best"] == best.to_dict() and rec["split"] == "val"


def test_the_step_past_an_edge_stays_in_the_valid_range():
    from cellrt.calibrate.tune import _past_edge

    assert _past_edge("fg_threshold", [0.1, 0.2], at_max=False) is None  # 0.0: not in (0, 1)
    assert _past_edge("fg_threshold", [0.8, 0.9], at_max=True) is None  # 1.0
    assert _past_edge("fg_threshold", [0.4, 0.5, 0.6], at_max=True) == 0.7
    assert _past_edge("min_size", [8, 16], at_max=False) == 0
    assert _past_edge("min_size", [0, 8], at_max=False) is None
    assert _past_edge("vote_h", [1.0, 1.5, 3.0], at_max=True) == 4.5


def test_stages_given_the_shared_maps_score_as_with_their_own_pass(data):
    # tools/build_shipped_model.py runs the network over val once and hands the maps to every
    # stage: the results must be those of each stage's own pass.
    from cellrt.calibrate.tune import split_maps, tune_upscale

    maps = split_maps("nuclei-fluo", data, "val")
    assert [sid for sid, _, _ in maps] == ["e0", "e1"]
    grid = {"fg_threshold": [0.4, 0.5], "min_size": [16, 32]}
    assert (tune("nuclei-fluo", data, "val", grid=grid, maps=maps, **QUIET)
            == tune("nuclei-fluo", data, "val", grid=grid, **QUIET))
    kw = dict(thresholds=[150, 1e9], **QUIET)
    assert (tune_upscale("nuclei-fluo", data, "val", maps=maps, **kw)
            == tune_upscale("nuclei-fluo", data, "val", **kw))
    for stage in (tune, tune_upscale):
        with pytest.raises(ValueError, match="refusing to tune on the 'test' split"):
            stage("nuclei-fluo", data, "test", maps=maps, **QUIET)
    with pytest.raises(ValueError, match="refusing to tune on the 'test' split"):
        split_maps("nuclei-fluo", data, "test")
