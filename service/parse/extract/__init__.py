"""Extraction: every field's raw value found in a document, one reader per kind of file."""
