"""Notifications: every message to a person.

Its capabilities arrive with their issues; today it runs, migrates and joins the bus.
"""
