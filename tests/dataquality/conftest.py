import pytest
from django.utils import timezone

from dataquality import importer, synthetic
from dataquality.models import Scan
from dataquality.scan import run_scan

ACCURACY_DEFECTS = {
    "missing_high": 12,
    "missing_critical": 6,
    "equation": 12,
    "totals": 12,
    "duplicates": 12,
    "negatives": 12,
    "outliers": 80,
}


def load(dataset: synthetic.Dataset, name="generated.csv"):
    report = importer.import_file(synthetic.to_csv(dataset), name)
    assert report.ok, report.errors[:5]
    return report


def scan_all(**kwargs) -> Scan:
    return run_scan(Scan.objects.create(scope=Scan.Scope.ALL), **kwargs)


@pytest.fixture
def today():
    return timezone.now().date()


@pytest.fixture
def accuracy_dataset(today) -> synthetic.Dataset:
    return synthetic.generate(
        seed=20260501,
        today=today,
        entities=48,
        periods=(3, 10),
        defects=ACCURACY_DEFECTS,
        stale=2,
    )


@pytest.fixture
def small_dataset(today) -> synthetic.Dataset:
    return synthetic.generate(seed=3, today=today, entities=4, periods=(4, 4), stale=0)
