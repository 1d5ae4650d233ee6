"""Identity's rules in plain Python: people, organizations, studios, members, invitations, sessions."""
