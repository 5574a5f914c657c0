"""$/progress values to a tqdm bar (when tqdm is installed), or to a callable of yours."""
try:
    try:  # a widget bar in Jupyter when ipywidgets is there; tqdm.auto warns without it
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
except ImportError:  # tqdm is optional
    tqdm = None


class ProgressSink:
    """Receives the `value` of each $/progress notification of one request (on the reader thread)."""

    def __init__(self, want):
        self.callback = want if callable(want) else None
        self.use_bar = self.callback is None and tqdm is not None and want in (None, True)
        self.bar = None
        self.values = []

    def __call__(self, value):
        self.values.append(value)
        if self.callback is not None:
            self.callback(value)
            return
        if not self.use_bar:
            return
        kind = value.get("kind")
        if kind == "begin" and self.bar is None:
            self.bar = tqdm(total=100, desc=value.get("title", "advlens"), leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")
        if self.bar is None:
            return
        if "percentage" in value:
            self.bar.n = value["percentage"]
        if value.get("message"):
            self.bar.set_postfix_str(value["message"], refresh=False)
        self.bar.refresh()
        if kind == "end":
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
