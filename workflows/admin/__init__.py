"""Operators' admin of the workflows app; each module registers its models."""

from django.contrib import admin

from workflows.admin import schedules, webhooks, workflows  # noqa: F401 - they register

admin.site.site_header = "Weft operations"
admin.site.site_title = "Weft"
