from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("exchange", "0004_group_purchases_shared_jobs")]

    operations = []
