"""motionlens: human action recognition in video with PyTorch."""

__version__ = "0.1.0"
