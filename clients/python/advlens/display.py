"""HTML for Jupyter without extra packages: images as inline PNG data URIs (PNG written with zlib
and struct), neuron-influence bars in plain HTML/CSS, and tables."""
import base64
import html
import struct
import zlib

import numpy as np


def png_bytes(pixels):
    """PNG of a uint8 array [H, W] (grey) or [H, W, 3] (RGB)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(height, -1)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def to_pixels(image, kind="image", value_range=(0.0, 1.0)):
    """uint8 pixels of one image given as [C,H,W], [H,W] or [1,C,H,W].
    kind: "image" (value_range -> 0..255), "signed" (a perturbation or a signed map: blue for
    negative, white 0, red positive, at full contrast), "heat" (non-negative map, black-red-yellow)."""
    x = np.asarray(image, dtype=np.float32)
    while x.ndim > 3:
        x = x[0]
    if x.ndim == 3:
        x = x[0] if x.shape[0] == 1 else np.transpose(x[:3], (1, 2, 0))
    if kind == "image":
        lo, hi = value_range
        return np.clip((x - lo) / (hi - lo) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if x.ndim == 3:
        x = x.mean(axis=2)
    if kind == "signed":
        scale = float(np.max(np.abs(x))) or 1.0
        t = np.clip(x / scale, -1, 1)
        r = np.where(t >= 0, 1.0, 1.0 + t)
        b = np.where(t <= 0, 1.0, 1.0 - t)
        g = 1.0 - np.abs(t)
        return (np.stack([r, g, b], axis=2) * 255 + 0.5).astype(np.uint8)
    lo, hi = float(x.min()), float(x.max())
    t = (x - lo) / ((hi - lo) or 1.0)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], axis=2)
    return (rgb * 255 + 0.5).astype(np.uint8)


def map_plane(tensor, height, width):
    """A map [C, h, w] or [h, w] as one [height, width] plane: channels summed, resampled to the
    image's size by nearest pixel (Grad-CAM's coarse grid upsampled)."""
    x = np.asarray(tensor, dtype=np.float32)
    while x.ndim > 2:
        x = x.sum(axis=0)
    rows = (np.arange(height) * x.shape[0]) // height
    cols = (np.arange(width) * x.shape[1]) // width
    return x[rows][:, cols]


def diverging_pixels(plane, peak):
    """RGB of a signed plane in the diverging map: blue (-peak), white (0), red (+peak)."""
    t = np.clip(plane / (peak or 1.0), -1, 1)
    rgb = np.stack([np.where(t >= 0, 1.0, 1.0 + t), 1.0 - np.abs(t), np.where(t <= 0, 1.0, 1.0 - t)], axis=2)
    return (rgb * 255 + 0.5).astype(np.uint8)


def overlay_pixels(image, plane, peak, value_range=(0.0, 1.0)):
    """RGB of `plane` over `image` ([C, H, W]) in dimmed grey: red where positive, blue where
    negative, opacity |value| / peak (as the daemon's heatmap PNGs)."""
    lo, hi = value_range
    grey = 0.25 + 0.5 * np.clip((np.asarray(image, dtype=np.float32).mean(axis=0) - lo) / (hi - lo), 0, 1)
    t = np.clip(plane / (peak or 1.0), -1, 1)
    alpha = np.abs(t)[..., None]
    colour = np.where((t >= 0)[..., None], np.array([1.0, 0.1, 0.05]), np.array([0.05, 0.25, 1.0]))
    rgb = (1 - alpha) * grey[..., None] + alpha * colour
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def pixels_uri(pixels, scale=4):
    """A data URI of uint8 pixels [H, W] or [H, W, 3], each drawn scale x scale."""
    if scale > 1:
        pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


def colorbar(peak, caption):
    """The diverging map's scale as an HTML bar from -peak to +peak, and what it means."""
    return (f'<div class="advlens-colorbar" style="font-size:11px;margin:2px 6px">'
            f'<div style="width:240px;height:10px;border:1px solid #888;'
            f'background:linear-gradient(to right, rgb(0,0,255), rgb(255,255,255), rgb(255,0,0))"></div>'
            f'<div style="width:242px;display:flex;justify-content:space-between"><span>{-peak:.3g}</span><span>0</span>'
            f'<span>+{peak:.3g}</span></div><div>{esc(caption)}</div></div>')


def data_uri(image, kind="image", scale=4, value_range=(0.0, 1.0)):
    return pixels_uri(to_pixels(image, kind, value_range), scale)


class Html(str):
    """Markup a table cell holds as it is (the renderer built and escaped it)."""


def esc(value):
    return value if isinstance(value, Html) else html.escape(str(value))


def histogram(values, width=60, height=14):
    """A small inline bar chart of `values` (a unit's class histogram), tallest bar full height."""
    values = [float(v) for v in values]
    top = max(values, default=0) or 1.0
    each = max(2, width // max(len(values), 1))
    bars = "".join(f'<span title="{i}: {v:.2g}" style="display:inline-block;width:{each - 1}px;margin-right:1px;'
                   f'height:{max(1, round(height * v / top))}px;background:#d9534f;vertical-align:bottom"></span>'
                   for i, v in enumerate(values))
    return Html(f'<span class="advlens-histogram" style="display:inline-block;height:{height}px;line-height:0">{bars}</span>')


def image_row(panels, caption=None, scale=4):
    """Images side by side: panels are (title, array, kind)."""
    figures = "".join(
        f'<figure class="advlens-panel" style="margin:0 6px;text-align:center">'
        f'<img class="advlens-image" alt="{esc(title)}" src="{data_uri(array, kind, scale)}" '
        f'style="image-rendering:pixelated;border:1px solid #ccc"/>'
        f'<figcaption style="font-size:11px">{esc(title)}</figcaption></figure>'
        for title, array, kind in panels)
    head = f'<div style="font-size:12px;margin:2px 6px">{esc(caption)}</div>' if caption else ""
    return f'<div class="advlens-row">{head}<div style="display:flex;align-items:flex-end">{figures}</div></div>'


def fmt(value):
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 12:
        return f"[{len(value)} items]"
    if isinstance(value, np.ndarray):
        return f"array{list(value.shape)}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in list(value.items())[:6])
    return str(value)


def table(rows, columns=None, limit=20, title=None):
    rows = list(rows)
    if columns is None:
        columns = []
        for row in rows[:limit]:
            for key in row:
                if key not in columns:
                    columns.append(key)
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(row.get(c, '') if isinstance(row.get(c), Html) else fmt(row.get(c, '')))}</td>"
                                    for c in columns) + "</tr>"
                   for row in rows[:limit])
    more = f'<div style="font-size:11px">… {len(rows) - limit} more rows</div>' if len(rows) > limit else ""
    cap = f"<caption>{esc(title)}</caption>" if title else ""
    return f'<table class="advlens-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def key_values(pairs, title=None):
    body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in pairs)
    cap = f"<caption>{esc(title)}</caption>" if title else ""
    return f'<table class="advlens-table advlens-summary">{cap}{body}</table>'


def bars(items, title=None):
    """Horizontal bars for (label, value) pairs; negative values grow left in blue."""
    items = list(items)
    top = max((abs(v) for _, v in items), default=0) or 1.0
    rows = []
    for label, value in items:
        width = 100.0 * abs(value) / top
        colour = "#d9534f" if value >= 0 else "#337ab7"
        rows.append(
            f'<div class="advlens-bar-row" style="display:flex;align-items:center;font-size:12px;margin:1px 0">'
            f'<span style="width:9em;text-align:right;padding-right:6px">{esc(label)}</span>'
            f'<span style="width:240px;background:#eee;display:inline-block">'
            f'<span class="advlens-bar" style="display:block;height:12px;width:{width:.1f}%;background:{colour}"></span></span>'
            f'<span style="padding-left:6px">{value:.4g}</span></div>')
    head = f'<div style="font-weight:bold;font-size:12px">{esc(title)}</div>' if title else ""
    return f'<div class="advlens-bars">{head}{"".join(rows)}</div>'
