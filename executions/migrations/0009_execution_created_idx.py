from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0008_bookmark_fire_lease'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(fields=['-created_at'], name='execution_created_idx'),
        ),
    ]
