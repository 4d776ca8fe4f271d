from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0007_execution_timeout'),
    ]

    operations = [
        migrations.AddField(
            model_name='bookmark',
            name='fire_lease_until',
            field=models.DateTimeField(blank=True, help_text='A due bookmark handed out to a worker is not handed out again before this.', null=True),
        ),
    ]
