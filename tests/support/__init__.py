"""Helpers shared by the tests (no tests here): sample records, document editing, office-suite filling."""
