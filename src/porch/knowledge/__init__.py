"""Knowledge: owners' sources (sources/), passages made of them (ingest/), search (search/)."""
