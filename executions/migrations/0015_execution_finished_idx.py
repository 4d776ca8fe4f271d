from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0014_dependents_notified'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(condition=models.Q(('finished_at__isnull', False)), fields=['finished_at'], name='execution_finished_idx'),
        ),
    ]
