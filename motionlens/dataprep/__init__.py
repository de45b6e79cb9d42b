"""Dataset building: synthetic motion sets, AVA clips, Kinetics trimming, optical flow extraction
(and its pictures), dataset description, and the Hara JSON writer. What these write,
`motionlens.data` reads."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "synth": ["synthesize", "write_long_video", "SynthDataset"],
    "ava": ["plan_ava_clips", "cut_ava_clips", "build_ava_dataset"],
    "trim": ["plan_trim", "run_trim", "trim_kinetics"],
    "describe": ["describe"],
    "hara": ["write_hara_json", "write_n_frames"],
    "flow": ["METHODS", "ExtractReport", "extract_dataset", "extract_video", "make_flow_fn", "video_flow"],
    "flow_visualize": ["color_wheel", "flow_to_color", "show_flow"],
})
