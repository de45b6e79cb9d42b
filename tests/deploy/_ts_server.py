"""A live MPEG-TS stream over HTTP on 127.0.0.1, for the reconnection test (run as a process).

    python _ts_server.py PORT BRIGHT_FROM BRIGHT_TO LIFETIME

Every GET gets its own stream, paced at 25 fps in real time, that starts dark, is bright from
BRIGHT_FROM to BRIGHT_TO seconds (of that connection's stream) and dark again after. The process
exits by itself after LIFETIME seconds, so a test that forgets it leaves nothing running."""

from __future__ import annotations

import socket
import sys
import threading
import time

import av
import numpy as np

FPS = 25


def serve_one(conn: socket.socket, bright_from: float, bright_to: float, stop_at: float) -> None:
    try:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-cache\r\n\r\n")
        out = conn.makefile("wb", buffering=0)
        container = av.open(out, mode="w", format="mpegts", buffer_size=1024, options={"flush_packets": "1"})
        stream = container.add_stream("mpeg2video", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 80, 64, "yuv420p"
        stream.codec_context.gop_size = 5
        stream.codec_context.options = {"bf": "0"}
        rng = np.random.default_rng(0)
        start = time.monotonic()
        index = 0
        while time.monotonic() < stop_at:
            t = index / FPS
            delay = start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            level = 215 if bright_from <= t < bright_to else 40
            image = np.full((64, 80, 3), level, np.uint8) + rng.integers(0, 8, (64, 80, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
            index += 1
    except (OSError, ValueError, av.error.FFmpegError):
        pass  # the client went away
    finally:
        conn.close()


def main() -> None:
    port, bright_from, bright_to, lifetime = int(sys.argv[1]), *map(float, sys.argv[2:5])
    stop_at = time.monotonic() + lifetime
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    server.settimeout(0.2)
    print("listening", flush=True)
    while time.monotonic() < stop_at:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve_one, args=(conn, bright_from, bright_to, stop_at), daemon=True).start()


if __name__ == "__main__":
    main()
