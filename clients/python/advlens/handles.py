"""Result handles (`adv-1`, ...) as objects: a str that knows its client, usable as an input."""


class Handle(str):
    """A batch the daemon keeps. Compare and print it like its name; pass it as `inputs=` (or
    `handle.select([0, 3])` for some of its images); `drop()` frees it."""

    def __new__(cls, name, client=None, indices=None):
        self = super().__new__(cls, name)
        self.client = client
        self.indices = indices
        return self

    @property
    def name(self):
        return str(self)

    def select(self, indices):
        return Handle(str(self), self.client, list(indices))

    def as_input(self):
        source = {"handle": str(self)}
        if self.indices is not None:
            source["indices"] = list(self.indices)
        return source

    def drop(self):
        if self.client is None:
            raise ValueError(f"handle {self} is not bound to a client")
        return self.client.handle_drop(handle=str(self))

    def info(self):
        """This handle's HandleSummary from handle/list, or None when it is gone."""
        for summary in self.client.handle_list().handles:
            if summary["handle"] == str(self):
                return summary
        return None

    def __repr__(self):
        return f"Handle({str(self)!r})"
