"""The ground every package stands on: tenancy (org scope), authz (the permission table), errors,
validation, security tokens, the audit log, and the events packages tell each other."""
