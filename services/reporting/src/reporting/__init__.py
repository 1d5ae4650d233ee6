"""Reporting: numbers for owners, managers and trainers.

Its capabilities arrive with their issues; today it runs, migrates and joins the bus.
"""
