"""Video I/O. Decoders return uint8 RGB `(T, H, W, C)`; everything that fails raises VideoError."""

from ..core.errors import VideoError
from .container import find_video
from .decode import (Clip, DecodeReport, Frame, FrameFolder, FrameTable, check_decode, count_frames, frame_folder,
                     frame_table, frame_times, frames_at, iter_frames, open_source, output_size, read_clip, read_frames)
from .frame_dir import list_frames
from .probe import VIDEO_EXTENSIONS, VideoInfo, probe
from .writer import VideoWriter, has_encoder, write_video

__all__ = [
    "VIDEO_EXTENSIONS", "Clip", "DecodeReport", "Frame", "FrameFolder", "FrameTable", "VideoError", "VideoInfo", "VideoWriter",
    "check_decode", "count_frames", "find_video", "frame_folder", "frame_table", "frame_times", "frames_at", "has_encoder",
    "iter_frames", "list_frames", "open_source", "output_size", "probe", "read_clip", "read_frames", "write_video",
]
