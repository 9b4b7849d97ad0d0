from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("events", "0002_questions_reminders_privacy")]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["status", "visibility", "end"], name="events_event_listing"),
        ),
    ]
