"""Deployment: sliding-window prediction over long videos, stream watching with alerts, events,
several cameras with a live view (HTTP), alert media, ONNX export, and archive jobs over many
videos (local workers or Ray)."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "predict": ["predict", "predict_with", "load_predictor", "score_video", "Predictor"],
    "watch": ["watch", "AlertRule", "StreamWatcher"],
    "events": ["events", "EventTracker"],
    "webhook": ["EventSink"],
    "cameras": ["load_cameras", "CameraConfig"],
    "monitor": ["Monitor", "WatchOptions"],
    "serve": ["serve"],
    "export": ["export_onnx"],
    "archive": ["predict_files", "check_files"],
})
