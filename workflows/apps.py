from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    # The label makes the permissions read as the contract names them: workflow.read, ...
    label = "workflow"
    verbose_name = "Workflows"
