"""Placeholder until this op lands."""
