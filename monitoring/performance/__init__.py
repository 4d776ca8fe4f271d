"""The performance API (`/api/performance/...`): how many executions ran, how they ended,
how long they took, over a time range and as a series (`figures`); the caches, the
broker's queues, the Redis locks and the workers now (`now`). Needs `workflow.read`; the
reset `workflow.admin`."""
