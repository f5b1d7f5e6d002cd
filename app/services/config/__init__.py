"""Organizations and their tree, and each org's validated, inherited configuration."""
