"""Benchmarks: numbers printed as ratios against raw LangGraph on the same machine."""
