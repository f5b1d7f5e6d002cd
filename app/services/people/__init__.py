"""Accounts and membership: sign-in and sign-up, invites, members and teams, CSV import, seats."""
