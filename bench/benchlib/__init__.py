"""Helpers of bench/compare: servers, load generator, message corpus, measurement."""
