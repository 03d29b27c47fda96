"""The built RUM script: small, rebuilt only when its inputs change, sampling like the server."""

import gzip
import subprocess

from rum.sites import SiteInfo, sample_bucket, sampled
from tests.support import ROOT

SCRIPT = ROOT / "static" / "rum" / "rum.js"


def test_the_built_script_is_at_most_8_kb_gzipped():
    assert SCRIPT.exists(), "the RUM script is not built: run `make assets`"
    assert len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9)) <= 8192


def test_the_build_is_up_to_date_so_a_second_make_does_nothing():
    result = subprocess.run(["make", "-q", "assets"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, "make assets would rebuild: its stamps are not respected"


def test_the_script_uses_the_web_vitals_attribution_build():
    text = SCRIPT.read_text()
    assert "sendBeacon" in text and "keepalive" in text
    assert "largestShiftTarget" in text  # only the attribution build names the CLS target


def test_sessions_are_sampled_by_fnv1a_as_in_the_script():
    # FNV-1a 32-bit reference values: "" -> 0x811c9dc5, "a" -> 0xe40c292c.
    assert sample_bucket("") == 0x811C9DC5 % 10_000
    assert sample_bucket("a") == 0xE40C292C % 10_000
    half = SiteInfo(1, frozenset(), 0.5, False)
    kept = sum(sampled(half, f"session-{n}") for n in range(2000))
    assert 850 < kept < 1150
