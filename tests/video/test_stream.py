"""iter_frames: a Ctrl-C inside a blocking read stops the stream instead of ending it."""

import av
import pytest

import motionlens.video.stream as stream_module
from motionlens.video import iter_frames


def test_a_ctrl_c_inside_a_blocking_read_stops_instead_of_ending_the_stream(make_video, monkeypatch):
    """FFmpeg answers a pending Ctrl-C in a blocking (network) read with AVERROR_EXIT; read as the
    end of the stream, `watch` reconnected instead of stopping. It must come out as KeyboardInterrupt."""
    path = make_video("live.mp4", num_frames=20)
    real_open = stream_module.open_source

    class Interrupted:
        def __init__(self, container):
            self.container = container

        def __getattr__(self, name):
            return getattr(self.container, name)

        def demux(self, stream):
            for k, packet in enumerate(self.container.demux(stream)):
                if k == 5:
                    raise av.error.ExitError(-0x54495845, "Immediate exit requested")
                yield packet

    monkeypatch.setattr(stream_module, "open_source", lambda source, **kw: Interrupted(real_open(source, **kw)))
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for frame in iter_frames(path):
            seen.append(frame.index)
    assert 0 < len(seen) < 20
