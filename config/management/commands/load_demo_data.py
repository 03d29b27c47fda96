from django.core.management.base import BaseCommand

from config.demo import prepare_demo


class Command(BaseCommand):
    help = "Create the demo superuser and load every app's demo data (safe to re-run)."

    def handle(self, *args, **options):
        prepare_demo(self.stdout)
