"""Routes of the web UI."""

from django.contrib.auth.views import LogoutView
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from config.auth import ui_login
from ui import pages

urlpatterns = [
    path("", pages.workflows, name="ui-workflows"),
    path("login/", ui_login, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("workflows/new/", pages.designer, name="ui-designer-new"),
    path("workflows/<uuid:id>/", pages.designer, name="ui-designer"),
    path("runs/", pages.runs, name="ui-runs"),
    path("runs/<uuid:id>/", pages.monitor, name="ui-monitor"),
    path("dashboard/", pages.dashboard, name="ui-dashboard"),
    path("inbox/", pages.inbox, name="ui-inbox"),
    path("triggers/", pages.triggers, name="ui-triggers"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, the API docs).
    path("favicon.ico", RedirectView.as_view(url=static("ui/favicon.svg"), permanent=True)),
]
