"""Video I/O. Decoders return uint8 RGB `(T, H, W, C)`; everything that fails raises VideoError."""

from ..core.errors import VideoError
from .container import find_video
from .frame_dir import FrameFolder, frame_folder, list_frames
from .frame_table import FrameTable, count_frames, frame_table, frame_times, frames_at
from .frames import Clip, DecodeReport, Frame, Size, output_size
from .probe import VIDEO_EXTENSIONS, VideoInfo, probe
from .reader import read_clip, read_frames
from .stream import check_decode, iter_frames, open_source
from .writer import VideoWriter, has_encoder, write_video

__all__ = [
    "VIDEO_EXTENSIONS", "Clip", "DecodeReport", "Frame", "FrameFolder", "FrameTable", "Size", "VideoError", "VideoInfo",
    "VideoWriter", "check_decode", "count_frames", "find_video", "frame_folder", "frame_table", "frame_times", "frames_at",
    "has_encoder", "iter_frames", "list_frames", "open_source", "output_size", "probe", "read_clip", "read_frames",
    "write_video",
]
