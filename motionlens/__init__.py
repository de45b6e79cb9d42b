"""motionlens: human action recognition in video with PyTorch."""

__version__ = "0.1.0"


def predict(video, model, **options):  # lazy, so `import motionlens` stays light
    """Actions along a whole video: see `motionlens.deploy.predict.predict`."""
    from .deploy.predict import predict as _predict

    return _predict(video, model, **options)


def clip_input(video, cfg_or_model, start_sec: float = 0.0):
    """The float `(C, T, H, W)` tensor a model is fed for the clip of `video` starting at `start_sec`,
    exactly as evaluation and `predict` feed it: see `motionlens.data.pipeline.clip_input`."""
    from .data.pipeline import clip_input as _clip_input

    return _clip_input(video, cfg_or_model, start_sec)
