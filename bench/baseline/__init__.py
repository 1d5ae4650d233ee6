"""The baseline: the booking a monolith would do, in one transaction on one database."""
