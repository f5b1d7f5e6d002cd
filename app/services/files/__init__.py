"""Who may read a stored private file, decided by what it belongs to."""
