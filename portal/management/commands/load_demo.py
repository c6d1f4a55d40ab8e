"""Load the demo data set (idempotent) and print one login per role."""

from django.core.management.base import BaseCommand

from portal.demo import load_demo


class Command(BaseCommand):
    help = "Create whatever of the demo data set is missing and print the demo logins."

    def handle(self, *args, **options):
        logins = load_demo()
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                "Demo logins (staff admin: http://127.0.0.1:8000/admin/, self-service: http://127.0.0.1:8000/):"
            )
        )
        for demo, password in logins:
            self.stdout.write(f"  {demo.username:<18} {password:<18} {demo.role_description}")
        self.stdout.write("")
