"""Reading the tabular inputs: sample sheets, clinical tables and copy-number files."""
