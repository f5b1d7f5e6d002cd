"""Faults against the compiled app in the scaled mode."""
