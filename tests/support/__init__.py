"""Test support, in one place outside the product package: paths, process helpers, servers
started and stopped by the test that owns them, and the scripted OpenAI-compatible endpoint.

Imported by tests/conftest.py (fixtures) and by the tests themselves; the bench benchmarks
import the scripted endpoint from here too (it is a stand-in for a model, not product code).
"""
