from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assets", "0007_cells_without_removed")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="map_basemap",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="basemap of the maps"),
        ),
    ]
