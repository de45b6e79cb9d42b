"""motionlens: human action recognition in video with PyTorch."""

__version__ = "0.1.0"


def predict(video, model, **options):  # lazy, so `import motionlens` stays light
    """Actions along a whole video: see `motionlens.engine.infer.predict`."""
    from .engine.infer import predict as _predict

    return _predict(video, model, **options)
