"""Sources, chunking, indexing and search."""
