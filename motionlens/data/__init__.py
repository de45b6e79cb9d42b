"""Dataset reading: index a dataset as it ships, sample clips, decode and transform them.

index (`build_index`) + sampler + decoder + transform = `VideoClipDataset`; `data.pipeline` builds
them from a model's weights contract. Extracted optical flow is read (and stored) by `flow_storage`."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "records": ["VideoRecord", "VideoIndex", "Entry", "SplitReport"],
    "index": ["build_index", "parse_data_spec"],
    "samplers": ["ClipInfo", "RandomClipSampler", "UniformClipSampler", "TSNSampler", "FirstClipsSampler",
                 "SlidingWindows", "SlidingWindowSampler", "Window", "make_sampler"],
    "resample": ["resample_indices"],
    "transforms": ["ClipTransform", "resize", "to_tensor"],
    "dataset": ["VideoClipDataset"],
    "flow_storage": ["BOUND", "MAX_ERROR", "quantize", "dequantize", "flow_dir_for", "flow_info", "read_done",
                     "read_flow"],
    "pipeline": ["Pipeline", "resolve_pipeline", "as_pipeline", "make_dataset", "make_loader", "clip_input",
                 "eval_transform", "train_transform"],
})
