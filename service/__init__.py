"""Document automation for the 示范性职业教育集团 campaigns."""
