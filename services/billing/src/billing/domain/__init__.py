"""Billing's rules: products, client packages, credit lots and their ledger, and which lot pays for a booking."""
