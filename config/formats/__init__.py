"""Display formats that replace the locale's (FORMAT_MODULE_PATH)."""
