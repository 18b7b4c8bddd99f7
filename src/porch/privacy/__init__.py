"""Personal data's lifecycle: retention sweeps, export and erase of one person, redaction."""
