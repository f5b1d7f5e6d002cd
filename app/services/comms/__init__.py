"""Talking to people: mail, the notification centre, announcements and chat."""
