"""Billing: money and credits.

Its capabilities arrive with their issues; today it runs, migrates and joins the bus.
"""
