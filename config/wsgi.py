"""The WSGI entry point: gunicorn (`config.wsgi`) and runserver (WSGI_APPLICATION)."""

import os

from django.core.wsgi import get_wsgi_application

from config.processes import web_process_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Served for real: apps start their per-process work (request metrics leave each
# process from a background thread). The test client does not come through here.
web_process_started.send(sender=None)
