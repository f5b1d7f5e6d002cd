"""End-to-end journeys in Chromium against the compiled app (`reflex run --env prod`)."""
