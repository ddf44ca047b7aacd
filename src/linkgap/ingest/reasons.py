"""Every reason a reader counts in ``InputStats.skipped``, with what it means.

The names are stable (they appear in build reports and manifests); the
meanings are the ones ``docs/inputs.md`` lists. A test checks that readers
count no other reason and that the docs describe each one.
"""

from __future__ import annotations

__all__ = ["SKIP_REASONS"]

SKIP_REASONS: dict[str, str] = {
    # damaged files (warc, wat, and gzip text inputs)
    "truncated_record": "a WARC record cut short by the end of the file (skipped)",
    "truncated_gzip": "a gzip file that ends early; whole records/lines before the cut are kept",
    "corrupt_gzip": "gzip data that cannot be decompressed in the middle of a WARC file",
    "invalid_record": "a WARC record with an invalid header; reading resumes at the next record",
    "record_too_large": "a response or WAT record over 64 MiB (not read)",
    # warc
    "bad_http_response": "a WARC response record whose block is not an HTTP response",
    "http_status_not_ok": "an HTTP status outside 200-299 (error pages, redirects)",
    "not_html": "a response that is not HTML (no text/html or application/xhtml+xml)",
    "undecodable_body": "a body in a coding linkgap cannot undo that is not markup as stored",
    "unparseable_html": "the HTML parser failed on the document",
    # wat
    "broken_json": "a WAT metadata record whose payload is not valid JSON",
    "bad_wat_record": "valid JSON without the WAT structure (Envelope, WARC-Header-Metadata)",
    # links (every format)
    "not_http_target": "an href that is empty, a #fragment, or not http(s) (mailto:, data: …)",
    "bad_url": "a target that does not parse as a URL with a host",
    "target_not_domain": "a target host that is not a registrable domain (IP, localhost, co.uk)",
    "internal_link": "source and target in the same registrable domain",
    "bad_page_url": "a page URL that is not an http(s) URL with a host (page skipped)",
    "page_not_domain": "a page host that is not a registrable domain (page skipped)",
    # links-csv
    "bad_csv_row": "a row with the wrong number of fields or an empty source/target URL",
    "bad_seen_at": "a seen_at that is not an ISO-8601 date or time (row skipped)",
    "bad_source_url": "a source_url that is not an absolute http(s) URL with a host",
    "source_not_domain": "a source host that is not a registrable domain",
    "bad_parquet_row_group": "a Parquet row group that cannot be read (the others are)",
    # cc-graph
    "bad_vertex_line": "a vertices line without an integer id and a name",
    "duplicate_vertex": "a vertex id given again (the first line is kept)",
    "vertex_not_domain": "a vertex whose name is not a registrable domain",
    "bad_edge_line": "an edges line that is not two non-negative integer ids",
    "unknown_vertex": "an edge naming an id the vertices file does not have",
    "skipped_vertex": "an edge from or to a vertex skipped as not a domain",
    "unreadable_rest": "a graph file the CSV reader cannot go on with (a line over 16 MB)",
}
