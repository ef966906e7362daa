"""Differential fuzzing (campaign) and the request-sequence strategies it and the tests draw from."""
