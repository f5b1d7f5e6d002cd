"""Moving bytes and messages: the live broker, the job outbox, file storage, rate limits and the
health probes."""
