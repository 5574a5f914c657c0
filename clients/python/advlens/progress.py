"""$/progress values to a progress display, or to a callable of yours.

The reader thread only queues each value; the thread waiting for the reply (the caller's: a
terminal's or a notebook cell's) draws them, so notebook output lands in the running cell and
a callable runs where the request was made. Displays: tqdm's notebook widget in Jupyter when
ipywidgets is there, else an HTML bar updated in place (IPython display with a display_id); a
tqdm text bar in a terminal. Each shows the rate and the time left, and never goes backwards
(a probe that runs an attack first reports the attack's steps as messages, and a late or
throttled report below what is shown leaves the bar where it is)."""
import html
import queue
import time

try:
    from tqdm import tqdm
except ImportError:  # tqdm is optional
    tqdm = None


def jupyter_kernel():
    """True inside a Jupyter kernel (IPython with a kernel attached), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def notebook_tqdm():
    """tqdm's widget bar when tqdm and ipywidgets are installed, else None."""
    if tqdm is None:
        return None
    try:
        import ipywidgets  # noqa: F401
        from tqdm.notebook import tqdm as widget_tqdm
    except ImportError:
        return None
    return widget_tqdm


def clock(seconds):
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def rate_and_eta(percentage, elapsed):
    """'12.5%/s, 00:04 left' from how far the work is and how long it took; '' before a rate exists."""
    if percentage <= 0 or elapsed <= 0:
        return ""
    rate = percentage / elapsed
    return f"{rate:.3g}%/s, {clock((100 - percentage) / rate)} left"


class HtmlBar:
    """A progress bar in a notebook without ipywidgets: one HTML output replaced in place."""

    def __init__(self, title):
        from IPython.display import HTML, display
        self._html = HTML
        self.title = title
        self.start = time.monotonic()
        self.handle = display(HTML(self.render(0, "")), display_id=True)

    def render(self, percentage, message):
        timing = rate_and_eta(percentage, time.monotonic() - self.start)
        text = " · ".join(part for part in (f"{percentage:.0f}%", timing, message) if part)
        return (f'<div class="advlens-progress" data-percentage="{percentage:.0f}" style="font-size:12px">'
                f'<b>{html.escape(self.title)}</b> <progress value="{percentage:.0f}" max="100" '
                f'style="width:240px;vertical-align:middle"></progress> {html.escape(text)}</div>')

    def show(self, percentage, message):
        self.handle.update(self._html(self.render(percentage, message)))


class ProgressSink:
    """Receives the `value` of each $/progress notification of one request (on the reader
    thread, `__call__`); `drain()` on the waiting thread shows them."""

    def __init__(self, want):
        self.callback = want if callable(want) else None
        self.use_bar = self.callback is None and want in (None, True)
        self.values = []
        self.pending = queue.SimpleQueue()
        self.bar = None
        self.kind = None
        self.shown = 0
        self.message = ""

    def __call__(self, value):
        self.values.append(value)
        self.pending.put(value)

    def drain(self):
        while True:
            try:
                value = self.pending.get_nowait()
            except queue.Empty:
                return
            if self.callback is not None:
                self.callback(value)
            elif self.use_bar:
                self.show(value)

    def open(self, title):
        if jupyter_kernel():
            widget = notebook_tqdm()
            if widget is not None:
                return "tqdm", widget(total=100, desc=title, leave=False)
            return "html", HtmlBar(title)
        if tqdm is None:
            return None, None
        return "tqdm", tqdm(total=100, desc=title, leave=False, unit="%",
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def show(self, value):
        kind = value.get("kind")
        if kind == "begin" and self.bar is None:
            self.kind, self.bar = self.open(value.get("title", "advlens"))
        if self.bar is None:
            return
        if value.get("message"):
            self.message = value["message"]
        # A handler ends finished work with a message; a bare end is the connection closing a
        # failed or cancelled request, which stays where it got to.
        finished = kind == "end" and bool(value.get("message"))
        target = 100 if finished else value.get("percentage", self.shown)
        step = max(0, min(100, target) - self.shown)  # never backwards
        self.shown += step
        if self.kind == "html":
            self.bar.show(self.shown, self.message)
        else:
            if self.message:
                self.bar.set_postfix_str(self.message, refresh=False)
            self.bar.update(step)
            self.bar.refresh()
        if kind == "end":
            self.close()

    def close(self):
        self.drain()
        if self.bar is not None and self.kind == "tqdm":
            self.bar.close()
        self.bar = None
