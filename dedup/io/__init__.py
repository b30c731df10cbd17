"""Input and output: every file format in, atomic outputs out. Ids live here."""
