"""The sample projects here have their own suites (or are inputs): the outer run must not collect them."""
collect_ignore = ["sample_celery", "sample_unconvertible"]
