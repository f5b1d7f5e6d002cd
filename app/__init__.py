"""Guildhall: a realtime-first, multi-tenant learning and workforce-training platform."""
