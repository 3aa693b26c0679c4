"""A basemap tile server on 127.0.0.1 for the browser tests and the documentation's screenshots: every
/{z}/{x}/{y}.png is a drawn 256-pixel tile (a pale ground with a grid and its own address), made with Pillow."""

from __future__ import annotations

import io
import re
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

_TILE = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


@cache
def tile_png(z: int, x: int, y: int) -> bytes:
    image = Image.new("RGB", (256, 256), (234, 238, 226) if (x + y) % 2 else (228, 234, 220))
    draw = ImageDraw.Draw(image)
    for i in range(0, 256, 32):
        draw.line([(i, 0), (i, 255)], fill=(210, 218, 204))
        draw.line([(0, i), (255, i)], fill=(210, 218, 204))
    draw.rectangle([0, 0, 255, 255], outline=(190, 200, 185))
    draw.text((6, 6), f"{z}/{x}/{y}", fill=(150, 160, 145))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class TileServer:
    """``with TileServer() as server:`` serves tiles at ``server.template`` and counts them in ``server.served``."""

    def __init__(self) -> None:
        self.served = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                match = _TILE.match(self.path)
                if not match:
                    self.send_error(404)
                    return
                body = tile_png(*(int(v) for v in match.groups()))
                owner.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.template = self.origin + "/{z}/{x}/{y}.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
