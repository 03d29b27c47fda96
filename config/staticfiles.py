"""Serve plotly.js from the installed plotly package, so its version always matches."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "vendor/plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    prefix = "vendor/plotly"
    filename = "plotly.min.js"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = Path(plotly.__file__).parent / "package_data"
        self.storage = FileSystemStorage(location=str(self.root))
        self.storage.prefix = self.prefix

    def check(self, **kwargs):
        if (self.root / self.filename).exists():
            return []
        return [Error(f"plotly.min.js is missing from {self.root}", id="perfmon.E002")]

    def find(self, path, find_all=False, **kwargs):
        if path == f"{self.prefix}/{self.filename}":
            match = str(self.root / self.filename)
            return [match] if find_all else match
        return [] if find_all else None

    def list(self, ignore_patterns):
        yield self.filename, self.storage
