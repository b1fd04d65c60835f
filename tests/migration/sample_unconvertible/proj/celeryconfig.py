broker_url = "redis://localhost:6379/0"
task_serializer = "pickle"
accept_content = ["pickle"]
task_default_priority = 5
worker_autoscaler = "proj.autoscale.Scaler"
CELERY_ALWAYS_EAGER = False
