from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0002_questions_reminders_privacy")]

    operations = []
