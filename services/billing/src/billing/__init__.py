"""Billing: products, client packages and memberships, and the credit ledger that pays for bookings."""
