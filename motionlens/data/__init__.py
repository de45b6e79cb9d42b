"""Dataset reading: index a dataset as it ships, sample clips, decode and transform them.

index (`build_index`) + sampler + decoder + transform = `VideoClipDataset`. `data.spec` resolves
a run's input once (`InputSpec`, `resolve_input`) and chooses every clip's frames; `data.pipeline`
builds datasets from it and `data.loader` their loaders. Extracted optical flow is read (and
stored) by `flow_storage`."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "records": ["VideoRecord", "VideoIndex", "Entry", "SplitReport"],
    "index": ["build_index", "parse_data_spec"],
    "samplers": ["ClipInfo", "RandomClipSampler", "UniformClipSampler", "TSNSampler", "SlidingWindows", "Window",
                 "make_sampler"],
    "resample": ["resample_indices"],
    "transforms": ["ClipTransform", "resize", "to_tensor"],
    "dataset": ["VideoClipDataset"],
    "flow_storage": ["BOUND", "MAX_ERROR", "quantize", "dequantize", "flow_dir_for", "flow_info", "read_done",
                     "read_flow"],
    "spec": ["InputSpec", "resolve_input", "input_spec", "as_spec"],
    "pipeline": ["make_dataset", "clip_input", "eval_transform", "train_transform", "load_index"],
    "loader": ["make_loader", "EpochSampler", "sample_seed", "epoch_seed"],
})
