"""Clients of the web archives that hold timesca.com's past: the Wayback Machine and Common Crawl.

Both speak only through `tracker.http.Client` (one rate limit per archive and run), return
frozen records, and turn every malformed or cut-short answer into a `FetchError` that names
the request. What happens to the bytes (WARC reading, ingest) is someone else's business.
"""
