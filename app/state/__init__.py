"""Reflex state classes: thin adapters from UI events to services."""
