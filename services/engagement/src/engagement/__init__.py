"""Engagement: cohorts, programs, progress, feedback, music.

Its capabilities arrive with their issues; today it runs, migrates and joins the bus.
"""
