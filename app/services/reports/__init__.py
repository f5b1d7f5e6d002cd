"""Reporting: exports, gated by each org's reporting settings."""
