"""Loading and validating the curated knowledge tables."""
