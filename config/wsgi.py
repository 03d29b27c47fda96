import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Served for real: request metrics leave each process from a background thread.
# (The test client does not come through here; tests flush explicitly.)
from monitoring.recorder import recorder  # noqa: E402

recorder.enable_background_flush()
