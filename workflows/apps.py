from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    # The label makes the permissions read as the contract names them: workflow.read, ...
    label = "workflow"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from workflows.nodes import secrets
        from workflows.selectors import secret_by_name

        secrets.secret_reader_set(secret_by_name)
