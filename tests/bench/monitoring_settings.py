"""Settings of the throughput benchmark: the shipped settings, with its two views' URLs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.monitoring_urls"
