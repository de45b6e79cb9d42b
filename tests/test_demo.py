"""motionlens/demo.py: scoring the long video against its ground truth."""

from motionlens.demo import segment_agreement


def test_segment_agreement_counts_frames_and_majority_labels():
    truth = [{"label": None, "start_frame": 0, "end_frame": 10},
             {"label": "move_left", "start_frame": 10, "end_frame": 30},
             {"label": "rotate_cw", "start_frame": 30, "end_frame": 40}]
    shown = [{"label": "MoveLeft", "start_frame": 0, "end_frame": 25},
             {"label": "RotateCW", "start_frame": 25, "end_frame": 33},
             {"label": "MoveLeft", "start_frame": 33, "end_frame": 40}]
    result = segment_agreement(truth, shown, {"MoveLeft": "move_left", "RotateCW": "rotate_cw"})
    assert [r["shown"] for r in result["segments"]] == ["move_left", "move_left"]  # the still start is not scored
    assert result["segments"][0]["frame_agreement"] == 15 / 20 and result["segments"][1]["frame_agreement"] == 3 / 10
    assert result["segments_right"] == 1 and result["num_segments"] == 2
    assert result["frame_agreement"] == 18 / 30
