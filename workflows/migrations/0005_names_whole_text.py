# The name validators match the whole text: `$` in Python's `re` also matched before a
# final newline. Validators only: nothing changes in the database.

import re

import django.core.validators
from django.db import migrations, models

NAME = django.core.validators.RegexValidator(
    re.compile("^[a-z0-9][a-z0-9_.-]*\\Z"), "Use lowercase letters, digits, '_', '.' and '-'.")
SECRET_NAME = django.core.validators.RegexValidator(
    re.compile("^[A-Za-z_][A-Za-z0-9_]*\\Z"), "Use letters, digits and '_'.")


class Migration(migrations.Migration):

    dependencies = [
        ("workflow", "0004_workflowversion_co_authors"),
    ]

    operations = [
        migrations.AlterField(
            model_name="schedule", name="name",
            field=models.CharField(default="default", max_length=100, validators=[NAME])),
        migrations.AlterField(
            model_name="secret", name="name",
            field=models.CharField(max_length=100, unique=True, validators=[SECRET_NAME])),
        migrations.AlterField(
            model_name="webhooktrigger", name="name",
            field=models.CharField(default="default", max_length=100, validators=[NAME])),
        migrations.AlterField(
            model_name="workflow", name="name",
            field=models.CharField(max_length=100, validators=[NAME])),
        migrations.AlterField(
            model_name="workflow", name="namespace",
            field=models.CharField(default="default", max_length=100, validators=[NAME])),
    ]
