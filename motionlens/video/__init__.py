"""Video I/O. Decoders return uint8 RGB `(T, H, W, C)`; everything that fails raises VideoError."""

from ..errors import VideoError
from .decode import Frame, count_frames, frame_times, iter_frames, open_source, output_size, read_frames
from .frame_dir import is_frame_dir, list_frames
from .probe import VIDEO_EXTENSIONS, VideoInfo, probe
from .writer import VideoWriter, has_encoder, write_video

__all__ = [
    "VIDEO_EXTENSIONS", "Frame", "VideoError", "VideoInfo", "VideoWriter", "count_frames", "frame_times", "has_encoder",
    "is_frame_dir", "iter_frames", "list_frames", "open_source", "output_size", "probe", "read_frames",
    "write_video",
]
