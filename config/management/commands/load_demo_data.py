from django.core.management.base import BaseCommand

from config.demo import ensure_demo_user, load_all


class Command(BaseCommand):
    help = "Create the demo superuser and load every app's demo data (safe to re-run)."

    def handle(self, *args, **options):
        ensure_demo_user()
        load_all(self.stdout)
