from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("exchange", "0002_search_alerts_moderation")]

    operations = []
