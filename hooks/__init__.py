"""Events out of the registry: in-process signals and durable, signed webhooks."""
