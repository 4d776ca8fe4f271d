"""How executions start without a person: schedules, webhook triggers, AMQP events,
dependency runs, workflow files and the template library. Each module holds the services
of one trigger."""
