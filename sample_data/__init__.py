"""The synthetic sample trust: a deterministic, obviously fictional extract in the contract's format."""

from sample_data.generator import SampleSummary, generate_sample

__all__ = ["SampleSummary", "generate_sample"]
