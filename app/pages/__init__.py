"""Page functions: layout and components only."""
