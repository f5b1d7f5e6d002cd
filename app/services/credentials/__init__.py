"""What learners earn and must keep: certificates, mandatory training (compliance), recertification
and reminders."""
