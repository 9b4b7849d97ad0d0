from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("actors", "0011_map_sql")]

    operations = []
