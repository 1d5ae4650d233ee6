"""Scheduling: what happens when and where."""
