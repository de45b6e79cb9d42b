"""Spatio-temporal action detection (AVA): person boxes on keyframes, a 3D backbone, RoIAlign on the
keyframe's features and a per-box multi-label head; ActivityNet's frame-mAP evaluator, exactly."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "ava_files": ["read_labelmap", "read_annotations", "read_exclusions", "read_person_boxes"],
    "evaluate": ["frame_map", "FrameMapResult"],
    "roi_align": ["roi_align"],
    "model": ["ActionDetector", "build_detector", "load_detector"],
    "dataset": ["AvaDetectionDataset", "build_keyframes"],
    "persons": ["HogPersonDetector", "load_person_detector", "track_boxes"],
    "train": ["DetectConfig", "train_detector"],
    "predict": ["detect_video"],
})
