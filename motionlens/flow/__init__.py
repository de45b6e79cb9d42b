"""Optical flow: extraction (`extract`), 8-bit storage (`quantize`, `storage`) and pictures (`visualize`)."""

from .extract import METHODS, ExtractReport, extract_dataset, extract_video, make_flow_fn, video_flow
from .quantize import BOUND, FLOW_MEAN, FLOW_STD, MAX_ERROR, dequantize, quantize
from .storage import flow_dir_for, flow_info, read_done, read_flow
from .visualize import color_wheel, flow_to_color, show_flow

__all__ = [
    "BOUND", "FLOW_MEAN", "FLOW_STD", "MAX_ERROR", "METHODS", "ExtractReport", "color_wheel", "dequantize",
    "extract_dataset", "extract_video", "flow_dir_for", "flow_info", "flow_to_color", "make_flow_fn", "quantize",
    "read_done", "read_flow", "show_flow", "video_flow",
]
