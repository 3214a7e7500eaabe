"""Measuring the router on labelled data (CLINC150's protocol); used by the CLI, bench and tests."""
