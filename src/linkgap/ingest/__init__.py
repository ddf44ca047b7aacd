"""Input readers: crawl files → Arrow batches of links (see ``linkgap.ingest.base``)."""
