from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0007_execution_timeout'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(fields=['-created_at'], name='execution_created_idx'),
        ),
    ]
