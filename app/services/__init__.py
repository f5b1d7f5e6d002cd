"""Business rules. Plain Python: no Reflex import. Each function takes a session and context."""
