"""Getting crawl data: resumable downloads of Common Crawl's graph and WAT files (SPEC 10)."""

from linkgap.data.commoncrawl import graph_jobs, listing_job, parse_listing, wat_jobs
from linkgap.data.download import DownloadJob, DownloadResult, RetryPolicy, download_all

__all__ = [
    "DownloadJob",
    "DownloadResult",
    "RetryPolicy",
    "download_all",
    "graph_jobs",
    "listing_job",
    "parse_listing",
    "wat_jobs",
]
