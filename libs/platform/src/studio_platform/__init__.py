"""Plumbing shared by the services. Business rules never go here."""
