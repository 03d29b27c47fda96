from django.core.management.base import BaseCommand

from config.schedule import seed


class Command(BaseCommand):
    help = "Create the default periodic tasks that do not exist yet (edits are kept)."

    def handle(self, *args, **options):
        created = seed()
        if created:
            self.stdout.write(f"Created periodic tasks: {', '.join(created)}")
        else:
            self.stdout.write("All default periodic tasks exist.")
