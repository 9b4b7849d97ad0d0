from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("exchange", "0001_initial")]

    operations = []
