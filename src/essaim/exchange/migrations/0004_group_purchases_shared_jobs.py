from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("exchange", "0003_contacts_outcomes")]

    operations = []
